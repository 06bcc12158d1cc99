"""Pseudonymisation at load time: people become salted hashes before anything lands.

The salt comes from dlt secrets (`flowmart.pseudonym_salt`, env `FLOWMART__PSEUDONYM_SALT`). When none
is configured, one is generated on first use and written to the git-ignored local secrets file
(`.dlt/secrets.toml` of the working directory, mode 0600), so pseudonyms stay stable across runs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import tomlkit

SECRETS_FILE = Path(".dlt") / "secrets.toml"
ENV_VAR = "FLOWMART__PSEUDONYM_SALT"


def _read_salt_file(path: Path) -> str | None:
    if not path.exists():
        return None
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    salt = doc.get("flowmart", {}).get("pseudonym_salt")
    return str(salt) if salt else None


def get_salt(secrets_file: Path | None = None) -> str:
    """The configured salt, or a new one stored in the local secrets file."""
    if os.environ.get(ENV_VAR):
        return os.environ[ENV_VAR]
    path = secrets_file or SECRETS_FILE
    salt = _read_salt_file(path)
    if salt:
        return salt
    salt = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    table = doc.get("flowmart") or tomlkit.table()
    table["pseudonym_salt"] = salt
    doc["flowmart"] = table
    # a secret: readable by its owner only, from the moment the file exists
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(tomlkit.dumps(doc))
    return salt


class Pseudonymiser:
    """Callable that turns an identity (account id, e-mail, login) into a stable 16-hex pseudonym."""

    def __init__(self, salt: str | None = None) -> None:
        self._salt = salt
        self._key: bytes | None = None  # read (or created) on first use, not when a source is declared
        self._cache: dict[str, str] = {}

    def __call__(self, identity: str | None) -> str | None:
        if identity is None or identity == "":
            return None
        if self._key is None:
            self._key = (self._salt or get_salt()).encode("utf-8")
        identity = identity.strip()
        if "@" in identity:
            identity = identity.lower()
        cached = self._cache.get(identity)
        if cached is None:
            digest = hmac.new(self._key, identity.encode("utf-8"), hashlib.sha256).hexdigest()
            cached = "p_" + digest[:16]
            self._cache[identity] = cached
        return cached
