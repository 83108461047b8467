#!/usr/bin/python3
"""CycloneDX 1.5 SBOM of one appliance package, and its validation against the CycloneDX JSON schema.

  sbom.py --name N --version V --arch A --assets project.assets.json --stage DIR --depends "..." ... --out FILE
  sbom.py --validate FILE --schema-dir DIR

Lists every NuGet package the build resolved (with the .NET runtime packs compiled into the Native AOT binary), every
native library shipped in the package (file hash and the release it came from), and every Debian dependency (the
constraint, and the Debian bookworm version of that architecture the package is verified against).
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def nuget_components(assets):
    """Packages from project.assets.json (restore's resolved graph), with SHA-512 and their dependency edges."""
    libraries = {k: v for k, v in assets["libraries"].items() if v.get("type") == "package"}
    resolved = {k.split("/")[0].lower(): k for k in libraries}
    components, dependencies = [], []
    for key, lib in sorted(libraries.items()):
        name, version = key.split("/")
        component = {
            "type": "library",
            "bom-ref": f"pkg:nuget/{name}@{version}",
            "name": name,
            "version": version,
            "purl": f"pkg:nuget/{name}@{version}",
            "scope": "required",
        }
        if lib.get("sha512"):
            component["hashes"] = [{"alg": "SHA-512", "content": base64.b64decode(lib["sha512"]).hex()}]
        components.append(component)
    for target in assets["targets"].values():
        for key, entry in target.items():
            if key not in libraries or not entry.get("dependencies"):
                continue
            refs = sorted({"pkg:nuget/" + resolved[d.lower()].replace("/", "@") for d in entry["dependencies"] if d.lower() in resolved})
            dependencies.append({"ref": f"pkg:nuget/{key.replace('/', '@')}", "dependsOn": refs})
    # Runtime packs and the AOT compiler are downloads, not graph members: the .NET runtime compiled into the binary.
    for framework in assets["project"]["frameworks"].values():
        for download in framework.get("downloadDependencies", []):
            version = download["version"].strip("[]").split(",")[0].strip()
            ref = f"pkg:nuget/{download['name']}@{version}"
            if not any(c["bom-ref"] == ref for c in components):
                components.append({"type": "library", "bom-ref": ref, "name": download["name"], "version": version,
                                   "purl": ref, "scope": "required",
                                   "properties": [{"name": "edge:role", "value": ".NET runtime pack / Native AOT compiler"}]})
    merged = {}
    for d in dependencies:
        merged.setdefault(d["ref"], set()).update(d["dependsOn"])
    refs = {c["bom-ref"] for c in components}
    return components, [{"ref": r, "dependsOn": sorted(x for x in deps if x in refs)} for r, deps in sorted(merged.items()) if r in refs]


def sqlite_version(path):
    with open(path, "rb") as f:
        found = re.search(rb"(?<![\d.])(3\.\d{2}\.\d{1,2})\x00", f.read())
    return found.group(1).decode() if found else "unknown"


def native_components(args, lib_dir):
    """Every shared library shipped beside the binary, hashed, with the release it came from."""
    components = []
    for name in sorted(os.listdir(lib_dir)):
        path = os.path.join(lib_dir, name)
        if not name.endswith(".so") and ".so." not in name:
            continue
        if name.startswith("libonnxruntime"):
            version, purl, source = args.onnxruntime_version, f"pkg:generic/onnxruntime@{args.onnxruntime_version}", f"NuGet Microsoft.ML.OnnxRuntime {args.onnxruntime_version}"
        elif name == "libe_sqlite3.so":
            version = sqlite_version(path)
            purl, source = f"pkg:generic/sqlite@{version}", f"NuGet SQLitePCLRaw.lib.e_sqlite3 {args.sqlite_version}"
        elif name == "libgdcmsharpglue.so":
            version, purl, source = args.gdcm_version, f"pkg:deb/debian/libgdcm-cil@{args.gdcm_version}?arch={args.arch}&distro=bookworm", f"Debian libgdcm-cil {args.gdcm_version}"
        elif name.startswith("libgdcm"):
            version, purl, source = args.gdcm_version, f"pkg:deb/debian/libgdcm3.0@{args.gdcm_version}?arch={args.arch}&distro=bookworm", f"Debian libgdcm3.0 {args.gdcm_version}"
        elif name.startswith("libSystem."):
            version, purl, source = args.dotnet_native_version(name), None, "NuGet runtime.*.runtime.native.System.IO.Ports"
        else:
            version, purl, source = "unknown", None, "unknown"
        component = {"type": "library", "bom-ref": f"file:/usr/lib/edge-appliance/{name}", "name": name, "version": version,
                     "hashes": [{"alg": "SHA-256", "content": sha256(path)}],
                     "properties": [{"name": "edge:path", "value": f"/usr/lib/edge-appliance/{name}"},
                                    {"name": "edge:source", "value": source}]}
        if purl:
            component["purl"] = purl
        components.append(component)
    return components


def debian_versions(packages, arch):
    """The candidate version of each package for ARCH, from one apt-cache call."""
    out = subprocess.run(["apt-cache", "show", "--no-all-versions"] + [f"{p}:{arch}" for p in packages],
                         capture_output=True, text=True).stdout
    versions = {}
    for record in out.split("\n\n"):
        name, version = re.search(r"^Package: (\S+)", record, re.M), re.search(r"^Version: (\S+)", record, re.M)
        if name and version:
            versions.setdefault(name.group(1), version.group(1))
    return versions


def depends_components(depends, arch):
    """Debian dependencies: the first alternative is the component; the whole clause is kept as a property."""
    components = []
    clauses = [c.strip() for c in depends.split(",") if c.strip()]
    firsts = [c.split("|")[0].strip().split(" ")[0].split(":")[0] for c in clauses]
    versions = debian_versions(firsts, arch)
    for clause, package in zip(clauses, firsts):
        version = versions.get(package, "unknown")
        components.append({"type": "library", "bom-ref": f"deb:{package}", "name": package, "version": version,
                           "purl": f"pkg:deb/debian/{package}@{version}?arch={arch}&distro=bookworm", "scope": "required",
                           "properties": [{"name": "edge:debian-depends", "value": clause},
                                          {"name": "edge:role", "value": "Debian dependency (not shipped; version verified against on Debian bookworm)"}]})
    return components


def build(args):
    assets = json.load(open(args.assets))
    lib_dir = os.path.join(args.stage, "usr/lib/edge-appliance")
    nuget, nuget_deps = nuget_components(assets)
    by_name = {c["name"].lower(): c["version"] for c in nuget}
    args.dotnet_native_version = lambda name: next(
        (v for k, v in by_name.items() if k.endswith(".runtime.native.system.io.ports") and ("linux-x64" if args.arch == "amd64" else "linux-arm64") in k), "unknown")
    native = native_components(args, lib_dir)
    debian = depends_components(args.depends, args.arch)
    app_ref = f"pkg:deb/edge/{args.name}@{args.version}?arch={args.arch}"
    model = os.path.join(args.stage, "usr/share/edge/models/tb-cxr/1.0.0/model.onnx")
    components = nuget + native + debian
    if os.path.exists(model):
        manifest = json.load(open(os.path.join(os.path.dirname(model), "model.json")))
        components.append({"type": "machine-learning-model", "bom-ref": f"model:{manifest['name']}@{manifest['version']}",
                           "name": manifest["name"], "version": manifest["version"],
                           "hashes": [{"alg": "SHA-256", "content": sha256(model)}],
                           "properties": [{"name": "edge:path", "value": "/usr/share/edge/models/tb-cxr/1.0.0/model.onnx"}]})
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "tools": {"components": [{"type": "application", "name": "edge image-build/sbom.py"}]},
            "component": {"type": "firmware", "bom-ref": app_ref, "name": args.name, "version": args.version,
                          "purl": app_ref,
                          "hashes": [{"alg": "SHA-256", "content": sha256(os.path.join(lib_dir, args.name))}],
                          "description": "TB screening at the X-ray console (AI triage aid, not a diagnosis)"},
        },
        "components": components,
        "dependencies": [{"ref": app_ref, "dependsOn": sorted(c["bom-ref"] for c in components)}] + nuget_deps,
    }
    with open(args.out, "w") as f:
        json.dump(bom, f, indent=2)
        f.write("\n")
    print(f"image: SBOM {args.out}: {len(nuget)} NuGet packages, {len(native)} native libraries, {len(debian)} Debian dependencies", file=sys.stderr)


def validate(path, schema_dir):
    """Well-formed JSON, valid against CycloneDX 1.5's schema, unique bom-refs, and dependencies naming known refs."""
    import jsonschema

    bom = json.load(open(path))
    store = {}
    for name in os.listdir(schema_dir):
        if name.endswith(".schema.json"):
            schema = json.load(open(os.path.join(schema_dir, name)))
            store[schema.get("$id", name)] = schema
            store["http://cyclonedx.org/schema/" + name] = schema
    schema = store["http://cyclonedx.org/schema/bom-1.5.schema.json"]
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    validator = jsonschema.Draft7Validator(schema, resolver=resolver, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(bom), key=lambda e: list(e.path))
    for error in errors[:20]:
        print(f"image: SBOM invalid at {'/'.join(map(str, error.path))}: {error.message}", file=sys.stderr)
    refs = [c["bom-ref"] for c in bom.get("components", [])] + [bom["metadata"]["component"]["bom-ref"]]
    problems = len(errors)
    if len(refs) != len(set(refs)):
        print("image: SBOM has duplicate bom-refs", file=sys.stderr)
        problems += 1
    for d in bom.get("dependencies", []):
        for r in [d["ref"]] + d.get("dependsOn", []):
            if r not in refs:
                print(f"image: SBOM dependency names unknown ref {r}", file=sys.stderr)
                problems += 1
    if problems:
        sys.exit(1)
    print(f"image: SBOM {os.path.basename(path)} valid CycloneDX {bom['specVersion']} ({len(bom['components'])} components)", file=sys.stderr)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--validate")
    p.add_argument("--schema-dir")
    for a in ("name", "version", "arch", "assets", "stage", "gdcm-version", "onnxruntime-version", "sqlite-version", "depends", "out"):
        p.add_argument("--" + a)
    args = p.parse_args()
    if args.validate:
        validate(args.validate, args.schema_dir)
    else:
        build(args)


if __name__ == "__main__":
    main()
