"""Login against the bank's directory: a real OpenLDAP server (Debian's slapd), started by the test
on a free port with its own config and data, and stopped after. Role and branch come from groups."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django.urls import reverse

from accounts.directory import check_mapping, ldap_settings, role_and_branch
from audit.models import AuditEvent
from loans.models import User
from tests.conftest import service_missing

SLAPD = "/usr/sbin/slapd"
SUFFIX = "dc=bank,dc=example"
ROOT_DN, ROOT_PASSWORD = f"cn=admin,{SUFFIX}", "admin-secret-2026"
GROUPS = f"ou=groups,{SUFFIX}"
PEOPLE = f"ou=people,{SUFFIX}"
ROLE_GROUPS = {
    f"cn=npl-managers,{GROUPS}": "manager",
    f"cn=npl-officers,{GROUPS}": "officer",
    f"cn=npl-auditors,{GROUPS}": "auditor",
}
BRANCH_GROUPS = {f"cn=branch-b01,{GROUPS}": "B01"}
DIRECTORY_PASSWORD = "dir-pass-2026"

CONFIG = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {dir}/data
access to attrs=userPassword by anonymous auth by * none
access to * by * read
"""


def _person(uid: str, given: str, family: str) -> str:
    return f"""dn: uid={uid},{PEOPLE}
objectClass: inetOrgPerson
uid: {uid}
cn: {given} {family}
givenName: {given}
sn: {family}
mail: {uid}@bank.example
userPassword: {DIRECTORY_PASSWORD}
"""


def _group(cn: str, *members: str) -> str:
    lines = "".join(f"member: uid={m},{PEOPLE}\n" for m in members)
    return f"dn: cn={cn},{GROUPS}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}"


DATA = "\n".join(
    [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: bank\no: The Bank\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n",
        _person("zhangwei", "Wei", "Zhang"),
        _person("lina", "Na", "Li"),
        _person("wangfang", "Fang", "Wang"),
        _group("npl-managers", "zhangwei"),
        _group("npl-officers", "lina"),
        _group("npl-auditors", "lina"),
        _group("branch-b01", "zhangwei", "lina"),
        # In the directory, but in no group of this application's.
        _group("canteen", "wangfang"),
    ]
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def directory(tmp_path_factory) -> Iterator[str]:
    """A slapd of our own: config and data in a temporary folder, on a free port; stopped after."""
    if not Path(SLAPD).exists() or not shutil.which("slapadd"):
        service_missing("OpenLDAP's slapd is not installed (apt-get install -y slapd ldap-utils)")
    folder = tmp_path_factory.mktemp("slapd")
    (folder / "data").mkdir()
    (folder / "slapd.d").mkdir()
    conf = folder / "slapd.conf"
    conf.write_text(CONFIG.format(dir=folder, suffix=SUFFIX, root_dn=ROOT_DN, root_password=ROOT_PASSWORD))
    (folder / "data.ldif").write_text(DATA)
    # slapd.conf -> a config folder (slaptest also tries to open the empty database and says it
    # failed; the folder is written all the same), then the data loaded offline.
    subprocess.run(["slaptest", "-f", str(conf), "-F", str(folder / "slapd.d")], capture_output=True, timeout=60)
    assert (folder / "slapd.d" / "cn=config.ldif").exists(), "slaptest wrote no config"
    subprocess.run(
        ["slapadd", "-F", str(folder / "slapd.d"), "-l", str(folder / "data.ldif")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    uri = f"ldap://127.0.0.1:{_free_port()}"
    log = open(folder / "slapd.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [SLAPD, "-F", str(folder / "slapd.d"), "-h", f"{uri}/", "-d", "0"], stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"slapd stopped: {(folder / 'slapd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", int(uri.rsplit(":", 1)[1])), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield uri
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture
def ldap_on(directory, settings):
    """The settings a bank would give (the same helper the settings module uses)."""
    for name, value in ldap_settings(
        server_uri=directory,
        bind_dn=ROOT_DN,
        bind_password=ROOT_PASSWORD,
        user_search_base=PEOPLE,
        group_search_base=GROUPS,
        role_groups=ROLE_GROUPS,
    ).items():
        setattr(settings, name, value)
    settings.NPL_LDAP_ROLE_GROUPS = ROLE_GROUPS
    settings.NPL_LDAP_BRANCH_GROUPS = BRANCH_GROUPS
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "accounts.backends.DirectoryBackend",
        "rules.permissions.ObjectPermissionBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    return directory


def _login(username: str, password: str = DIRECTORY_PASSWORD) -> tuple[Client, int]:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    return client, response.status_code


@pytest.mark.django_db
def test_a_manager_in_the_directory_logs_in_with_role_branch_and_name_from_it(ldap_on, branch):
    client, status = _login("zhangwei")
    assert status == 302
    user = User.objects.get(username="zhangwei")
    assert (user.role, user.branch, user.first_name, user.last_name) == ("manager", branch, "Wei", "Zhang")
    assert not user.has_usable_password()  # the password stays in the directory
    assert client.get(reverse("accountability:board")).status_code == 200
    event = AuditEvent.objects.get(event_type="user.directory_synced", subject_id=user.pk)
    assert event.new_values == {"role": "manager", "branch": branch.pk, "is_staff": False}


@pytest.mark.django_db
def test_the_widest_role_of_several_groups_wins(ldap_on, branch):
    assert _login("lina")[1] == 302
    assert User.objects.get(username="lina").role == "auditor"


@pytest.mark.django_db
def test_someone_in_no_group_of_the_bank_is_refused(ldap_on, branch):
    client, status = _login("wangfang")
    assert status == 200  # the login form again
    assert not User.objects.filter(username="wangfang").exists()


@pytest.mark.django_db
def test_a_wrong_directory_password_is_refused(ldap_on, branch):
    assert _login("zhangwei", "not-the-password")[1] == 200
    assert not User.objects.filter(username="zhangwei").exists()


@pytest.mark.django_db
def test_a_changed_group_changes_the_role_at_the_next_login_and_is_audited(ldap_on, branch):
    import ldap

    assert _login("zhangwei")[1] == 302
    connection = ldap.initialize(ldap_on)
    connection.simple_bind_s(ROOT_DN, ROOT_PASSWORD)
    member = f"uid=zhangwei,{PEOPLE}".encode()
    try:
        connection.modify_s(f"cn=npl-auditors,{GROUPS}", [(ldap.MOD_ADD, "member", [member])])
        assert _login("zhangwei")[1] == 302
    finally:
        connection.modify_s(f"cn=npl-auditors,{GROUPS}", [(ldap.MOD_DELETE, "member", [member])])
        connection.unbind_s()
    user = User.objects.get(username="zhangwei")
    assert user.role == "auditor"
    changes = AuditEvent.objects.filter(event_type="user.directory_synced", subject_id=user.pk).order_by("id")
    assert [e.new_values["role"] for e in changes] == ["manager", "auditor"]
    assert changes.last().old_values["role"] == "manager"


@pytest.mark.django_db
def test_local_accounts_still_log_in_beside_the_directory(ldap_on, officer):
    from tests.factories import TEST_PASSWORD

    assert _login("officer", TEST_PASSWORD)[1] == 302


def test_groups_give_the_role_and_branch():
    assert role_and_branch(
        [f"CN=npl-officers,{GROUPS}".upper(), f"cn=branch-b01,{GROUPS}"],
        role_groups=ROLE_GROUPS,
        branch_groups=BRANCH_GROUPS,
    ) == ("officer", "B01")
    assert role_and_branch([], role_groups=ROLE_GROUPS, branch_groups=BRANCH_GROUPS) == (None, None)


def test_a_mapping_to_a_role_that_does_not_exist_stops_start_up_naming_it():
    with pytest.raises(ImproperlyConfigured, match="npl-bosses"):
        check_mapping({"cn=npl-bosses": "boss"}, {})


def test_directory_login_is_off_by_default():
    with override_settings():
        from django.conf import settings

        assert "accounts.backends.DirectoryBackend" not in settings.AUTHENTICATION_BACKENDS
        assert settings.LDAP_SERVER_URI == ""
