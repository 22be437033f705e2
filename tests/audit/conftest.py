"""The audit page's stories use the security tests' small bank (one object of every kind)."""

from tests.security.conftest import _fast_passwords, bank  # noqa: F401  (fixtures)
