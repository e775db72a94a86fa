# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide offline whether a password matches what the server stores for an account.

Decided from mysql.user's plugin and authentication_string, so it does not depend on where the controller is
(an account whose host pattern does not admit the controller cannot be tried by logging in).

- mysql_native_password (MySQL, MariaDB): '*' + hex(SHA1(SHA1(password))).
- caching_sha2_password (the MySQL 8+ default): '$A$' + 3 hex digits (rounds / 1000) + '$' +
  a 20-byte salt + 43 characters of SHA-256 crypt (Drepper's algorithm, as glibc's $5$).
- sha256_password (MySQL, deprecated): '$5$' + 20-byte salt + '$' + 43 characters, 5000 rounds.
- ed25519 (MariaDB): base64 (unpadded) of the Ed25519 public key whose secret scalar is the
  clamped first half of SHA-512(password); unsalted, so it is recomputed here.
Any other plugin (parsec, unix_socket, ...) cannot be checked offline: None.
SHA-256 crypt costs about 10 ms per 5000 rounds here; it runs once per task.
"""
from __future__ import annotations

import base64
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


# Edwards25519 (RFC 8032): field prime, curve constant d, base point B in extended coordinates.
_P = 2 ** 255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P


def _recover_x(y):
    xx = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(xx, (_P + 3) // 8, _P)
    if (x * x - xx) % _P:
        x = x * pow(2, (_P - 1) // 4, _P) % _P
    return _P - x if x & 1 else x


_BY = 4 * pow(5, _P - 2, _P) % _P
_B = (_recover_x(_BY), _BY, 1, _recover_x(_BY) * _BY % _P)


def _edwards_add(one, two):
    x1, y1, z1, t1 = one
    x2, y2, z2, t2 = two
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * t1 * t2 * _D % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def ed25519_password_hash(password):
    """What MariaDB's ed25519 plugin stores for ``password`` (str)."""
    scalar = bytearray(hashlib.sha512(password.encode("utf-8")).digest()[:32])
    scalar[0] &= 248
    scalar[31] &= 63
    scalar[31] |= 64
    number = int.from_bytes(bytes(scalar), "little")
    point, addend = (0, 1, 1, 0), _B
    while number:
        if number & 1:
            point = _edwards_add(point, addend)
        addend = _edwards_add(addend, addend)
        number >>= 1
    x, y, z, unused = point
    inverse = pow(z, _P - 2, _P)
    x, y = x * inverse % _P, y * inverse % _P
    public = (y | ((x & 1) << 255)).to_bytes(32, "little")
    return base64.b64encode(public).decode("ascii").rstrip("=")


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
    if plugin == "ed25519":
        if not stored:
            return not password
        return stored.decode("ascii", "replace") == ed25519_password_hash(password)
    return None
