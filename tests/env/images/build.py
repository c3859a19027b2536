#!/usr/bin/env python3
"""Builds the R3 look-alike images as docker-archive tars, without a container engine.

Each image is one layer written byte-for-byte reproducibly (sorted entries, zero mtimes), so
its file name carries a hash of everything that went into it and a rebuild with the same inputs
is skipped. Config fields come from contracts.json (the upstream contract); the files come from
the recipes below. Writes <out>/images.txt: the tars of the current build, one per line.
"""
import argparse, hashlib, io, json, os, shutil, subprocess, sys, tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
CONTRACTS = json.load(open(os.path.join(HERE, "contracts.json")))["images"]


class Rootfs:
    """Files of one layer: path in the image -> (kind, source or text, mode, uid, gid)."""

    def __init__(self, usrmerge=False):
        self.entries = {}
        self.usrmerge = usrmerge
        if usrmerge:  # /bin, /sbin, /lib, /lib64 are links into /usr, as on ubi9 and Debian
            for d in ("bin", "sbin", "lib", "lib64"):
                self.entries["/" + d] = ("link", "usr/" + d, 0o777, 0, 0)

    def where(self, path):
        top = path.split("/")[1]
        return "/usr" + path if self.usrmerge and top in ("bin", "sbin", "lib", "lib64") else path

    def dir(self, path, mode=0o755, uid=0, gid=0):
        path = self.where(path)
        if path in ("", "/"):
            return
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):
            self.entries.setdefault("/" + "/".join(parts[:i]), ("dir", None, 0o755, 0, 0))
        self.entries["/" + "/".join(parts)] = ("dir", None, mode, uid, gid)

    def file(self, path, source, mode=0o755):
        path = self.where(path)
        self.dir(os.path.dirname(path))
        self.entries[path] = ("file", source, mode, 0, 0)

    def text(self, path, text, mode=0o644):
        path = self.where(path)
        self.dir(os.path.dirname(path))
        self.entries[path] = ("text", text, mode, 0, 0)

    def link(self, path, target):
        path = self.where(path)
        self.dir(os.path.dirname(path))
        self.entries[path] = ("link", target, 0o777, 0, 0)

    def binary_with_libs(self, path, source):
        """A dynamically linked host binary and the shared libraries it loads (from ldd)."""
        self.file(path, source)
        out = subprocess.run(["ldd", source], capture_output=True, text=True).stdout
        for line in out.splitlines():
            lib = line.split("=>")[-1].split("(")[0].strip()
            if lib.startswith("/"):
                real = os.path.realpath(lib)
                self.file(lib, real, 0o755)

    def fingerprint(self):
        h = hashlib.sha256()
        for path in sorted(self.entries):
            kind, src, mode, uid, gid = self.entries[path]
            h.update(f"{path}\0{kind}\0{mode}\0{uid}\0{gid}\0".encode())
            if kind == "file":
                h.update(sha256_file(src).encode())
            elif src is not None:
                h.update(src.encode())
        return h.hexdigest()

    def tar(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for path in sorted(self.entries):
                kind, src, mode, uid, gid = self.entries[path]
                info = tarfile.TarInfo(path.lstrip("/"))
                info.mode, info.uid, info.gid, info.mtime = mode, uid, gid, 0
                if kind == "dir":
                    info.type = tarfile.DIRTYPE
                    t.addfile(info)
                elif kind == "link":
                    info.type, info.linkname = tarfile.SYMTYPE, src
                    t.addfile(info)
                else:
                    data = open(src, "rb").read() if kind == "file" else src.encode()
                    info.size = len(data)
                    t.addfile(info, io.BytesIO(data))
        return buf.getvalue()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def etc(fs, users):
    fs.text("/etc/passwd", "".join(f"{n}:x:{u}:{u}:{n}:/:/sbin/nologin\n" for n, u in users))
    fs.text("/etc/group", "".join(f"{n}:x:{u}:\n" for n, u in users))
    fs.dir("/tmp", 0o1777)


def ubi_micro_like(fs):
    """What ubi9-micro gives a shell script: bash as sh, coreutils, glibc; no grep, sed or awk."""
    fs.binary_with_libs("/usr/bin/bash", "/bin/bash")
    fs.link("/usr/bin/sh", "bash")
    listed = subprocess.run(["dpkg", "-L", "coreutils"], capture_output=True, text=True, check=True).stdout.split()
    for tool in sorted(p for p in listed if p.startswith(("/bin/", "/usr/bin/")) and os.path.isfile(p) and not os.path.islink(p)):
        fs.binary_with_libs("/usr/bin/" + os.path.basename(tool), tool)
    etc(fs, [("root", 0), ("nobody", 65534)])


def busybox_rootfs(fs, busybox):
    fs.file("/bin/busybox", busybox)
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            fs.link("/bin/" + a, "busybox")
    etc(fs, [("root", 0), ("daemon", 1), ("nobody", 65534)])


ENTRYPOINT = """#!/bin/sh
# bigtop-k8s look-alike of MinIO's docker-entrypoint.sh: arguments that do not start with
# `minio` are arguments to minio.
if [ "${1}" != "minio" ] && [ -n "${1}" ]; then
  set -- minio "$@"
fi
exec "$@"
"""


def recipes(args, work):
    def pause(fs):
        binary = os.path.join(work, "pause")
        subprocess.run(["gcc", "-static", "-Os", "-s", "-o", binary, os.path.join(HERE, "pause.c")], check=True)
        fs.file("/pause", binary)

    def busybox(fs):
        busybox_rootfs(fs, args.busybox)

    def minio(fs):
        ubi_micro_like(fs)
        for b in ("minio", "mc"):
            fs.file("/usr/bin/" + b, os.path.join(args.minio, b), 0o777)
        fs.text("/usr/bin/docker-entrypoint.sh", ENTRYPOINT, 0o777)
        fs.file("/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt", 0o644)
        fs.dir("/data")

    def mc(fs):
        ubi_micro_like(fs)
        fs.file("/usr/bin/mc", os.path.join(args.minio, "mc"))
        fs.file("/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/certs/ca-certificates.crt", 0o644)

    def garage(fs):
        fs.binary_with_libs("/garage", args.garage)

    def coredns(fs):
        fs.file("/coredns", args.coredns)
        etc(fs, [("root", 0), ("nonroot", 65532)])

    return {"pause": pause, "busybox": busybox, "minio": minio, "mc": mc, "garage": garage, "coredns": coredns}


def archive(name, contract, layer, out_path):
    layer_id = hashlib.sha256(layer).hexdigest()
    config = {"architecture": "amd64", "os": "linux",
              "config": dict(contract["config"]),
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer_id]},
              "history": [{"created_by": f"bigtop-k8s tests/env/images/build.py ({name}: {contract['upstream']})"}]}
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": [contract["ref"]], "Layers": [layer_id + "/layer.tar"]}]
    tmp = out_path + ".partial"
    with tarfile.open(tmp, "w") as t:
        for member, data in ((config_name, config_bytes), (layer_id + "/layer.tar", layer),
                             ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(member)
            info.size, info.mtime = len(data), 0
            t.addfile(info, io.BytesIO(data))
    os.replace(tmp, out_path)


def main():
    p = argparse.ArgumentParser()
    for flag in ("--out", "--busybox", "--minio", "--garage", "--coredns"):
        p.add_argument(flag, required=True)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = os.path.join(args.out, "work")
    os.makedirs(work, exist_ok=True)
    current = []
    for name, recipe in recipes(args, work).items():
        contract = CONTRACTS[name]
        fs = Rootfs(usrmerge=name in ("minio", "mc"))
        recipe(fs)
        key = hashlib.sha256((fs.fingerprint() + json.dumps(contract, sort_keys=True)).encode()).hexdigest()[:16]
        path = os.path.join(args.out, f"{name}-{key}.tar")
        if not os.path.exists(path):
            archive(name, contract, fs.tar(), path)
            print(f"built {contract['ref']} -> {path} ({os.path.getsize(path) >> 20} MiB)")
        current.append(path)
    for stale in set(os.path.join(args.out, f) for f in os.listdir(args.out) if f.endswith(".tar")) - set(current):
        os.remove(stale)
    shutil.rmtree(work)
    with open(os.path.join(args.out, "images.txt"), "w") as f:
        f.write("\n".join(current) + "\n")


if __name__ == "__main__":
    sys.exit(main())
