"""The wheel that browsers install, made from the installed distml package itself.

A checkout serves `bash run.sh wheel`'s wheels/; a server installed with pip has no such
folder, so it zips its own installed `distml` package (without `distml/server`, which
the page does not need) with its dist-info into `distml-VERSION-py3-none-any.whl`, in the
cache, once per installed version (again when a file of the package is newer). micropip
installs it like any pure wheel: METADATA from the installed distribution, a WHEEL file
and a RECORD with every file's sha256.
"""
import base64
import hashlib
import zipfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # the installed distml package


def _files(package):
    """(path, name in the wheel) of the package's files, without distml/server."""
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if path.is_file() and rel.parts[0] != "server" and "__pycache__" not in rel.parts:
            yield path, "distml/" + rel.as_posix()


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _metadata():
    try:
        from importlib.metadata import distribution
        return distribution("distml").read_text("METADATA") or ""
    except Exception:  # no dist-info (e.g. a bare copy of the package): a minimal one
        return ""


def build_wheel(dest_dir, package=PACKAGE):
    """Write distml-VERSION-py3-none-any.whl of `package` into dest_dir; its path."""
    import distml
    version = distml.__version__
    metadata = _metadata() or \
        f"Metadata-Version: 2.1\nName: distml\nVersion: {version}\n"
    info = f"distml-{version}.dist-info"
    wheel_text = "Wheel-Version: 1.0\nGenerator: distml.server.selfwheel\n" \
                 "Root-Is-Purelib: true\nTag: py3-none-any\n"
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / f"distml-{version}-py3-none-any.whl"
    tmp = target.with_suffix(".tmp")
    records = []
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, name in _files(package):
            data = path.read_bytes()
            zf.writestr(name, data)
            records.append(_record_line(name, data))
        for name, text in ((f"{info}/METADATA", metadata), (f"{info}/WHEEL", wheel_text)):
            zf.writestr(name, text)
            records.append(_record_line(name, text.encode()))
        records.append(f"{info}/RECORD,,")
        zf.writestr(f"{info}/RECORD", "\n".join(records) + "\n")
    tmp.replace(target)  # a page never sees a half-written wheel
    return target


def ensure_wheel(dest_dir, package=PACKAGE):
    """dest_dir, holding a wheel of the installed package that is newer than its files."""
    import distml
    target = Path(dest_dir) / f"distml-{distml.__version__}-py3-none-any.whl"
    newest = max((p.stat().st_mtime for p, _ in _files(package)), default=0)
    if not target.is_file() or target.stat().st_mtime < newest:
        build_wheel(dest_dir, package)
    return Path(dest_dir)
