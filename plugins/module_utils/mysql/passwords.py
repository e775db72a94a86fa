# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does a password match what the server stores for an account? Decided offline, from
mysql.user's plugin and authentication_string, so it does not depend on where the controller is
(an account whose host pattern does not admit the controller cannot be tried by logging in).

- mysql_native_password (MySQL, MariaDB): '*' + hex(SHA1(SHA1(password))).
- caching_sha2_password (the MySQL 8+ default): '$A$' + 3 hex digits (rounds / 1000) + '$' +
  a 20-byte salt + 43 characters of SHA-256 crypt (Drepper's algorithm, as glibc's $5$).
- sha256_password (MySQL, deprecated): '$5$' + 20-byte salt + '$' + 43 characters, 5000 rounds.
Any other plugin (MariaDB ed25519, parsec, unix_socket, ...) cannot be checked offline: None.
SHA-256 crypt costs about 10 ms per 5000 rounds here; it runs once per task.
"""
from __future__ import annotations

import hashlib

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Which digest bytes make each group of four output characters (SHA-256 crypt's permutation).
_GROUPS = ((0, 10, 20), (21, 1, 11), (12, 22, 2), (3, 13, 23), (24, 4, 14), (15, 25, 5),
           (6, 16, 26), (27, 7, 17), (18, 28, 8), (9, 19, 29))
SHA2_SALT_LENGTH = 20
SHA2_DIGEST_LENGTH = 43
# Refuse absurd round counts read from a row (a 3-hex-digit field allows 4095000).
MAX_ROUNDS = 4095 * 1000


def native_password_hash(password):
    """The mysql_native_password hash as the server stores it: '*' + SHA1(SHA1(password)) in hex."""
    inner = hashlib.sha1(password.encode("utf-8")).digest()
    return "*" + hashlib.sha1(inner).hexdigest().upper()


def _repeat(digest, length):
    return (digest * (length // len(digest) + 1))[:length]


def sha256_crypt(password, salt, rounds):
    """SHA-256 crypt of bytes ``password`` with bytes ``salt``: the 43 characters after the salt."""
    key = password
    alternate = hashlib.sha256(key + salt + key).digest()
    context = hashlib.sha256(key + salt + _repeat(alternate, len(key)))
    length = len(key)
    while length:
        context.update(alternate if length & 1 else key)
        length >>= 1
    digest = context.digest()
    key_sequence = _repeat(hashlib.sha256(key * len(key)).digest(), len(key))
    salt_sequence = _repeat(hashlib.sha256(salt * (16 + digest[0])).digest(), len(salt))
    for number in range(rounds):
        step = hashlib.sha256(key_sequence if number & 1 else digest)
        if number % 3:
            step.update(salt_sequence)
        if number % 7:
            step.update(key_sequence)
        step.update(digest if number & 1 else key_sequence)
        digest = step.digest()
    out = []
    for first, second, third in _GROUPS:
        word = (digest[first] << 16) | (digest[second] << 8) | digest[third]
        for unused in range(4):
            out.append(_ITOA64[word & 63])
            word >>= 6
    word = (digest[31] << 8) | digest[30]
    for unused in range(3):
        out.append(_ITOA64[word & 63])
        word >>= 6
    return "".join(out)


def _caching_sha2_matches(stored, password):
    if not stored:
        return not password
    if len(stored) != 7 + SHA2_SALT_LENGTH + SHA2_DIGEST_LENGTH or not stored.startswith(b"$A$") \
            or stored[6:7] != b"$":
        return None
    try:
        rounds = int(stored[3:6].decode("ascii"), 16) * 1000
    except ValueError:
        return None
    if not 0 < rounds <= MAX_ROUNDS:
        return None
    salt = stored[7:7 + SHA2_SALT_LENGTH]
    digest = stored[7 + SHA2_SALT_LENGTH:].decode("ascii", "replace")
    return sha256_crypt(password.encode("utf-8"), salt, rounds) == digest


def _sha256_password_matches(stored, password):
    if not stored:
        return not password
    if not stored.startswith(b"$5$"):
        return None
    salt, separator, digest = stored[3:].rpartition(b"$")
    if not separator or len(digest) != SHA2_DIGEST_LENGTH:
        return None
    return sha256_crypt(password.encode("utf-8"), salt, 5000) == digest.decode("ascii", "replace")


def stored_password_matches(plugin, stored, password):
    """True/False when the plugin's stored form can be checked offline, else None.

    ``stored`` is the raw authentication_string (bytes: the caching_sha2 salt is binary).
    """
    plugin = (plugin or "").lower()
    if isinstance(stored, str):
        stored = stored.encode("utf-8", "surrogateescape")
    stored = stored or b""
    password = password or ""
    if plugin in ("", "mysql_native_password"):
        if stored and not stored.startswith(b"*"):
            return None
        return stored.decode("ascii", "replace") == (native_password_hash(password) if password else "")
    if plugin == "caching_sha2_password":
        return _caching_sha2_matches(stored, password)
    if plugin == "sha256_password":
        return _sha256_password_matches(stored, password)
    return None
