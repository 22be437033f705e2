#!/bin/sh
# Run by the nginx image's entrypoint before nginx starts (/docker-entrypoint.d/): the first
# start makes a self-signed certificate for TLS_HOSTNAME in the tls volume; later starts keep it.
# To use the bank's certificate, put tls.crt and tls.key in the volume instead.
set -eu
DIR=/etc/nginx/tls
CERT="$DIR/tls.crt"
KEY="$DIR/tls.key"
NAME="${TLS_HOSTNAME:-localhost}"
mkdir -p "$DIR"
if [ ! -s "$CERT" ] || [ ! -s "$KEY" ]; then
    echo "$0: no certificate in $DIR: making a self-signed one for $NAME (valid 825 days)"
    openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 825 \
        -subj "/CN=$NAME" -addext "subjectAltName=DNS:$NAME" \
        -keyout "$KEY" -out "$CERT"
    chmod 600 "$KEY"
fi
