#!/usr/bin/env python3
"""Sign and verify Edge model bundles.

Scheme (what the appliance verifies):
  * signature = ECDSA P-256 with SHA-256 over the exact bytes of BUNDLE/model.json,
    DER-encoded (RFC 3279 Ecdsa-Sig-Value), base64 on one line in BUNDLE/model.json.sig;
  * model.json carries the lowercase hex sha256 of the file it names ("file"),
    so the signature covers the ONNX graph too;
  * keys are PEM: private PKCS#8 (unencrypted), public SubjectPublicKeyInfo.

Usage:
  sign_bundle.py keygen --out-private P --out-public Q
  sign_bundle.py sign --key P BUNDLE_DIR
  sign_bundle.py verify --public Q BUNDLE_DIR
"""
import argparse
import base64
import hashlib
import json
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

MANIFEST = "model.json"
SIGNATURE = "model.json.sig"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def keygen(out_private, out_public):
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    for path, data, mode in ((out_private, pem, 0o600), (out_public, pub, 0o644)):
        if os.path.exists(path):
            raise SystemExit(f"refusing to overwrite {path}")
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)


def _load_private(path):
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise SystemExit(f"{path}: not an ECDSA P-256 private key")
    return key


def _load_public(path):
    with open(path, "rb") as f:
        key = serialization.load_pem_public_key(f.read())
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise SystemExit(f"{path}: not an ECDSA P-256 public key")
    return key


def sign(key_path, bundle):
    key = _load_private(key_path)
    with open(os.path.join(bundle, MANIFEST), "rb") as f:
        data = f.read()
    der = key.sign(data, ec.ECDSA(hashes.SHA256()))
    with open(os.path.join(bundle, SIGNATURE), "w", encoding="ascii", newline="\n") as f:
        f.write(base64.b64encode(der).decode("ascii") + "\n")


def verify(public_path, bundle):
    """Returns a list of problems (empty = valid)."""
    problems = []
    key = _load_public(public_path)
    with open(os.path.join(bundle, MANIFEST), "rb") as f:
        data = f.read()
    try:
        with open(os.path.join(bundle, SIGNATURE), "r", encoding="ascii") as f:
            der = base64.b64decode(f.read().strip(), validate=True)
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, OSError) as e:
        problems.append(f"signature invalid: {type(e).__name__} {e}".strip())
    manifest = json.loads(data.decode("utf-8"))
    model_path = os.path.join(bundle, manifest.get("file", ""))
    if not os.path.isfile(model_path):
        problems.append(f"model file missing: {model_path}")
    elif sha256_file(model_path) != manifest.get("sha256"):
        problems.append(f"sha256 of {manifest.get('file')} does not match model.json")
    return problems


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keygen")
    k.add_argument("--out-private", required=True)
    k.add_argument("--out-public", required=True)
    s = sub.add_parser("sign")
    s.add_argument("--key", required=True)
    s.add_argument("bundle")
    v = sub.add_parser("verify")
    v.add_argument("--public", required=True)
    v.add_argument("bundle")
    a = p.parse_args(argv)
    if a.cmd == "keygen":
        keygen(a.out_private, a.out_public)
    elif a.cmd == "sign":
        sign(a.key, a.bundle)
        print(f"signed {os.path.join(a.bundle, SIGNATURE)}")
    else:
        problems = verify(a.public, a.bundle)
        for pr in problems:
            print(pr, file=sys.stderr)
        if problems:
            return 1
        print(f"OK: {a.bundle} signature and sha256 valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
