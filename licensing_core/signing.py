"""Ed25519 signatures of license sets: canonical encodings, signing keys, the trusted key ring.

What is signed (docs/licensing.md §3):

* every modulelicense row, over ``scimsrv-license-row/v1`` + canonical JSON
  of its signed fields: the issuer's ``ownerName`` and the customer's
  ``serialNumber`` (so a row cannot move to another customer's set), then
  moduleName, moduleDescription, moduleVersion, licenseType, licenseNumber,
  unrestricted, hidden, extraFlags, extraInfo, sortOrder, prerequisiteModule.
  Ids, the tenant and the audit columns are not signed, so one signed file
  can be installed in any tenant; seats in use are never stored, they are
  counted from the links.
* the moduleowner row, over ``scimsrv-license-owner/v1`` + canonical JSON of
  its own fields and dates and, in ``sortOrder`` order, one entry per row
  with a non-zero amount: moduleName, moduleVersion, sortOrder and the
  SHA-256 of the row's signature. Hashing the row *signatures* (which bind
  each row's content) means that a row whose content (description, type,
  amount, flags, ...) was touched fails its own signature and stops working
  alone, while a row that was removed, added, renamed, reordered or whose
  signature was swapped (say for a validly signed row of another set) breaks
  the owner signature and with it the whole set.

A signature reads ``ed25519:<kid>:<base64 signature>``; ``kid`` is the first
16 hex digits of the SHA-256 of the raw public key, so the vendor can rotate
keys and the server can trust several at once.

Trusted keys. ``SCIMSRV_LICENSE_PUBLIC_KEYS`` names the vendor's public keys:
either a path to a file or the content inline, as JSON
(``{"keys": [{"kid": "...", "publicKey": "<base64 raw key or PEM>"}]}``, a
bare list of such entries, or what ``scimsrv license keygen`` writes) or as
PEM text holding one or more ``PUBLIC KEY`` blocks. scimsrv's settings
hold both values and build the ring with :func:`keyring_from`; this package
never reads the environment itself.

The built-in TEST key (``data/test_license_key.json``) is public, so anyone
can forge licenses with it. It is trusted only when
``SCIMSRV_TRUST_TEST_LICENSE_KEY=1``, or when no vendor keys are configured
and ``SCIMSRV_TRUST_TEST_LICENSE_KEY`` is not ``0``. That is the safer rule
that still lets ``scimsrv tenant create`` work on a fresh machine (a new
tenant's default set is signed with the test key): configuring vendor keys
switches the test key off unless an operator explicitly turns it back on.
Verifying a set signed with it logs a loud warning.

Verification results are cached by digest (payload, signature, public key)
in a module-level dict: correct across workers because a digest's verdict
never changes.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from licensing_core.errors import LicensingError
from licensing_core.plural import plural

log = logging.getLogger(__name__)

ROW_FORMAT = "scimsrv-license-row/v1"
OWNER_FORMAT = "scimsrv-license-owner/v1"
ALGORITHM = "ed25519"
PUBLIC_KEYS_ENV = "SCIMSRV_LICENSE_PUBLIC_KEYS"
TRUST_TEST_KEY_ENV = "SCIMSRV_TRUST_TEST_LICENSE_KEY"
UNSIGNED = "unsigned"
UNKNOWN_KEY = "signed with unknown key"
TEST_KEY_WARNING = (
    "license set signed with the built-in TEST key: for tests and demos only, "
    "anyone can forge licenses with it"
)

_KID = re.compile(r"[0-9a-f]{16}")
_CACHE_LIMIT = 100_000
_verified: dict[bytes, bool] = {}


class KeyProblem(LicensingError, ValueError):
    """A key file, key text or signing request that cannot be used."""


# --- canonical encodings ------------------------------------------------------


def _canonical(kind: str, fields: Mapping[str, Any]) -> bytes:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{kind}\n{body}".encode()


def _date(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds")


def row_payload(owner: Any, row: Any) -> bytes:
    """The bytes a modulelicense row's signature covers.

    ``owner`` and ``row`` are an OwnerSpec/ModuleOwner and a
    ModuleSpec/ModuleLicense: both pairs use the same attribute names.
    """
    return _canonical(
        ROW_FORMAT,
        {
            "ownerName": owner.owner_name,
            "serialNumber": owner.serial_number,
            "moduleName": row.module_name,
            "moduleDescription": row.module_description,
            "moduleVersion": row.module_version,
            "licenseType": int(row.license_type),
            "licenseNumber": row.license_number,
            "unrestricted": bool(row.unrestricted),
            "hidden": bool(row.hidden),
            "extraFlags": int(row.extra_flags),
            "extraInfo": row.extra_info,
            "sortOrder": int(row.sort_order),
            "prerequisiteModule": row.prerequisite_module,
        },
    )


def owner_payload(owner: Any, rows: Iterable[Any]) -> bytes:
    """The bytes the owner's signature covers: its fields, dates and the row list."""
    counted = sorted(
        (row for row in rows if row.license_number),
        key=lambda row: (row.sort_order, row.module_name, row.module_version),
    )
    return _canonical(
        OWNER_FORMAT,
        {
            "ownerName": owner.owner_name,
            "ownerDescription": owner.owner_description,
            "companyName": owner.company_name,
            "serialNumber": owner.serial_number,
            "extraFlags": int(getattr(owner, "extra_flags", 0) or 0),
            "extraInfo": getattr(owner, "extra_info", "") or "",
            "expiration": _date(owner.expiration),
            "graceTo": _date(owner.grace_to),
            "maintenanceTo": _date(owner.maintenance_to),
            "adminWarningDate": _date(owner.admin_warning_date),
            "nextCheckDate": _date(owner.next_check_date),
            "rows": [
                {
                    "moduleName": row.module_name,
                    "moduleVersion": row.module_version,
                    "sortOrder": int(row.sort_order),
                    "signatureSha256": hashlib.sha256(row.signature.encode()).hexdigest(),
                }
                for row in counted
            ],
        },
    )


# --- keys ---------------------------------------------------------------------


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The key's id: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def public_key_text(key: Ed25519PublicKey) -> str:
    """The public key as base64 of its 32 raw bytes (the key-file form)."""
    return base64.b64encode(_raw_public(key)).decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """A vendor's private key; it stays with the vendor, never in the server's database."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def kid(self) -> str:
        return key_id(self.public)

    def sign(self, payload: bytes) -> str:
        signature = base64.b64encode(self.private.sign(payload)).decode("ascii")
        return f"{ALGORITHM}:{self.kid}:{signature}"

    def private_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> bytes:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def public_keys_json(self) -> str:
        """A key file for ``SCIMSRV_LICENSE_PUBLIC_KEYS`` trusting this key alone."""
        entry = {"kid": self.kid, "publicKey": public_key_text(self.public)}
        return json.dumps({"keys": [entry]}, indent=2) + "\n"


def generate_key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.generate())


def load_private_key(pem: bytes) -> SigningKey:
    """A SigningKey from an unencrypted PKCS#8 PEM (what ``license keygen`` writes)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyProblem(f"not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem("the private key is not an Ed25519 key")
    return SigningKey(key)


@cache
def _test_key_document() -> dict[str, str]:
    path = resources.files("licensing_core").joinpath("data", "test_license_key.json")
    return json.loads(path.read_text(encoding="utf-8"))


def builtin_test_key() -> SigningKey:
    """The built-in TEST/DEMO key pair: public knowledge, never for real customers."""
    raw = base64.b64decode(_test_key_document()["privateKey"])
    return SigningKey(Ed25519PrivateKey.from_private_bytes(raw))


def builtin_test_public_key() -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(_test_key_document()["publicKey"]))


def builtin_test_key_id() -> str:
    return key_id(builtin_test_public_key())


def _parse_public_key(text: str, where: str) -> Ed25519PublicKey:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise KeyProblem(f"{where}: not an Ed25519 public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyProblem(f"{where}: not an Ed25519 public key")
    return key


_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.S)


def parse_public_keys(text: str) -> list[Ed25519PublicKey]:
    """Public keys from key-file text: JSON (see the module docstring) or PEM blocks."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        blocks = _PEM_BLOCK.findall(stripped)
        if not blocks:
            raise KeyProblem("no PUBLIC KEY block in the PEM text")
        return [_parse_public_key(b, f"PEM block {i + 1}") for i, b in enumerate(blocks)]
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise KeyProblem(f"public keys are neither JSON nor PEM: {exc}") from None
    entries = data.get("keys") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise KeyProblem('public keys JSON needs a non-empty list "keys"')
    keys = []
    for i, entry in enumerate(entries):
        where = f"keys[{i}]"
        text_key = entry.get("publicKey") if isinstance(entry, dict) else entry
        if not isinstance(text_key, str):
            raise KeyProblem(f'{where}: needs "publicKey" (base64 raw key or PEM)')
        key = _parse_public_key(text_key, where)
        named = entry.get("kid") if isinstance(entry, dict) else None
        if named is not None and named != key_id(key):
            raise KeyProblem(f"{where}: kid {named!r} does not match its key ({key_id(key)})")
        keys.append(key)
    return keys


# --- the key ring -------------------------------------------------------------


@dataclass(frozen=True)
class KeyRing:
    """The public keys this server trusts, by key id."""

    keys: Mapping[str, Ed25519PublicKey]
    test_key_trusted: bool = False

    @classmethod
    def of(cls, keys: Iterable[Ed25519PublicKey], *, trust_test_key: bool = False) -> KeyRing:
        ring = {key_id(k): k for k in keys}
        if trust_test_key:
            ring[builtin_test_key_id()] = builtin_test_public_key()
        return cls(ring, trust_test_key)

    def trusts(self, signed_with: str) -> bool:
        """Whether the key a ``signedPublicKey`` label names (``ed25519:<kid>``,
        :func:`signed_key_label`) is one this server trusts."""
        algorithm, _, kid = signed_with.partition(":")
        return algorithm == ALGORITHM and kid in self.keys

    def problem(self, payload: bytes, signature: str) -> str:
        """Why ``signature`` does not prove ``payload``; "" when it does."""
        if not signature:
            return UNSIGNED
        parts = signature.split(":", 2)
        if len(parts) != 3 or parts[0] != ALGORITHM or not _KID.fullmatch(parts[1]):
            return "malformed signature (expected ed25519:<kid>:<base64>)"
        kid = parts[1]
        key = self.keys.get(kid)
        if key is None:
            if kid == builtin_test_key_id():
                return (
                    "signed with the built-in TEST key, which this server does not trust "
                    f"(vendor keys are configured; set {TRUST_TEST_KEY_ENV}=1 to allow it)"
                )
            return f"{UNKNOWN_KEY} {kid}"
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except (ValueError, binascii.Error):
            return "malformed signature (bad base64)"
        digest = hashlib.sha256(
            b"\0".join((payload, signature.encode(), _raw_public(key)))
        ).digest()
        verdict = _verified.get(digest)
        if verdict is None:
            try:
                key.verify(raw, payload)
                verdict = True
            except InvalidSignature:
                verdict = False
            if len(_verified) >= _CACHE_LIMIT:
                _verified.clear()
            _verified[digest] = verdict
            if (
                verdict
                and kid == builtin_test_key_id()
                and payload.startswith(OWNER_FORMAT.encode())
            ):
                log.warning(TEST_KEY_WARNING)
        return "" if verdict else "signature does not verify (signed fields were changed)"


@lru_cache(maxsize=16)
def keyring_from(source: str, trust_flag: str) -> KeyRing:
    """The key ring an operator configured: ``source`` is what
    ``SCIMSRV_LICENSE_PUBLIC_KEYS`` holds (a path, or the keys inline; "" for
    none), ``trust_flag`` what ``SCIMSRV_TRUST_TEST_LICENSE_KEY`` holds ("1",
    "0" or ""). Read once per process for each pair.

    :raises KeyProblem: the keys cannot be read or parsed.
    """
    source, trust_flag = source.strip(), trust_flag.strip()
    keys: list[Ed25519PublicKey] = []
    if source:
        if source.startswith(("{", "[", "-----BEGIN")):
            text = source
        else:
            try:
                text = Path(source).expanduser().read_text(encoding="utf-8")
            except OSError as exc:
                raise KeyProblem(f"{PUBLIC_KEYS_ENV}: cannot read {source}: {exc}") from None
        try:
            keys = parse_public_keys(text)
        except KeyProblem as exc:
            raise KeyProblem(f"{PUBLIC_KEYS_ENV}: {exc}") from None
    trust_test = trust_flag == "1" or (not keys and trust_flag != "0")
    return KeyRing.of(keys, trust_test_key=trust_test)


# --- whole sets ---------------------------------------------------------------


@dataclass(frozen=True)
class RowCheck:
    """The verdict on one row; ``problem`` is "" when its signature holds."""

    module_name: str
    module_version: str
    sort_order: int
    problem: str
    row_id: int | None = None

    @property
    def label(self) -> str:
        where = f" (id {self.row_id})" if self.row_id is not None else ""
        return f"module {self.module_name!r} version {self.module_version!r}{where}"


@dataclass(frozen=True)
class SetVerification:
    """The verdict on one owner and its rows."""

    owner_name: str
    owner_problem: str
    rows: tuple[RowCheck, ...]
    key_ids: frozenset[str]
    test_key_used: bool

    @property
    def valid(self) -> bool:
        return not self.owner_problem and not any(r.problem for r in self.rows)

    def row_problem(self, index: int) -> str:
        """Why row ``index`` does not work: its own signature, else the owner's; ""."""
        if self.rows[index].problem:
            return self.rows[index].problem
        if self.owner_problem:
            return f"the license set's owner signature fails: {self.owner_problem}"
        return ""

    def messages(self) -> list[str]:
        lines = []
        if self.owner_problem:
            lines.append(
                f"license invalid: owner {self.owner_name!r}: {self.owner_problem}; "
                "no module of the set works"
            )
        lines += [f"license invalid: {r.label}: {r.problem}" for r in self.rows if r.problem]
        return lines

    def summary(self) -> str:
        """Why the set fails, in one line ("" when it holds). A cause every
        failing signature shares (unsigned, an unknown or untrusted key) is
        said once, with what fixes it; else how many fail and the first."""
        problems = [self.owner_problem, *(r.problem for r in self.rows)]
        failing = [p for p in problems if p]
        if not failing:
            return ""
        cause = failing[0]
        if len(failing) < len(problems) or any(problem != cause for problem in failing):
            return f"{plural(len(failing), 'signature')} failing; the first: {self.messages()[0]}"
        if cause == UNSIGNED:
            return "the license set is unsigned: the vendor signs it with `scimsrv license sign`"
        if cause.startswith(UNKNOWN_KEY):
            kid = cause.removeprefix(UNKNOWN_KEY).strip()
            return (
                f"the license set is signed with key {kid}, which this server does not trust: "
                f"add the vendor's public key to {PUBLIC_KEYS_ENV}"
            )
        if cause.startswith("signed with"):
            return f"the license set is {cause}"
        return f"every signature of the license set fails: {cause}"


def _kid_of(signature: str) -> str | None:
    parts = signature.split(":", 2)
    return parts[1] if len(parts) == 3 and _KID.fullmatch(parts[1]) else None


def verify_set(owner: Any, rows: Sequence[Any], keyring: KeyRing) -> SetVerification:
    """Check the owner's and every row's signature (specs or database rows alike)."""
    checks = tuple(
        RowCheck(
            row.module_name,
            row.module_version,
            row.sort_order,
            keyring.problem(row_payload(owner, row), row.signature),
            getattr(row, "id", None),
        )
        for row in rows
    )
    owner_problem = keyring.problem(owner_payload(owner, rows), owner.signature)
    kids = {_kid_of(s) for s in (owner.signature, *(r.signature for r in rows))} - {None}
    return SetVerification(
        owner_name=owner.owner_name,
        owner_problem=owner_problem,
        rows=checks,
        key_ids=frozenset(k for k in kids if k),
        test_key_used=builtin_test_key_id() in kids,
    )


def sign_license_set(spec: Any, key: SigningKey) -> Any:
    """``spec`` (a LicenseSetSpec with concrete seats) with every row and the owner signed."""
    if any(m.license_number is None for m in spec.modules):
        raise KeyProblem("sign a license set only after its seats are computed (with_seats)")
    modules = tuple(
        dataclasses.replace(m, signature=key.sign(row_payload(spec.owner, m))) for m in spec.modules
    )
    owner = dataclasses.replace(spec.owner, signature=key.sign(owner_payload(spec.owner, modules)))
    return dataclasses.replace(spec, owner=owner, modules=modules)


def signed_key_label(signature: str) -> str:
    """What the owner row's ``signedPublicKey`` records: the signing key's id."""
    kid = _kid_of(signature)
    return f"{ALGORITHM}:{kid}" if kid else ""
