"""Host side of a test guest: find the tools, build the initramfs, boot QEMU, read the console.

Nothing here knows what is being tested: the caller gives files to ship and a guest script, and
gets back the files the script dumped (see GUEST_DUMP) plus boot timings.
"""

import dataclasses
import glob
import os
import re
import selectors
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class HostSetupError(Exception):
    """Something the host must provide is missing; the message names the package."""


@dataclasses.dataclass
class HostTools:
    qemu: str
    kernel: str
    busybox: str
    cpio: str


def _generic_kernels():
    """The generic kernels in /boot, oldest first (Debian 12: 6.1 from linux-image-amd64, 6.12
    from linux-image-6.12-amd64). The cloud kernel has no NUMA emulation support worth having
    here (and no 9p); only generic ones are accepted."""
    kernels = [k for k in glob.glob("/boot/vmlinuz-*") if "cloud" not in k]

    def version_key(path):
        return [int(p) if p.isdigit() else 0 for p in re.split(r"[.+-]", path.split("vmlinuz-")[1])]

    return sorted(kernels, key=version_key)


def find_host_tools(kernel_choice="newest"):
    """The host's QEMU, busybox and cpio, and a kernel: XEONVM_KERNEL, else the newest (or, with
    kernel_choice "oldest", the oldest) generic kernel in /boot."""
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        raise HostSetupError(
            "qemu-system-x86_64 not found: install the Debian package qemu-system-x86 "
            "(tools/setup.sh installs it)")
    kernels = _generic_kernels()
    chosen = (kernels[0] if kernel_choice == "oldest" else kernels[-1]) if kernels else None
    kernel = os.environ.get("XEONVM_KERNEL") or chosen
    if not kernel or not os.access(kernel, os.R_OK):
        raise HostSetupError(
            "no readable generic kernel /boot/vmlinuz-*-amd64 (XEONVM_KERNEL=%s): install the "
            "Debian package linux-image-amd64 (tools/setup.sh installs it)" % (kernel or "unset"))
    busybox = "/bin/busybox"
    if not os.path.exists(busybox) or _is_dynamic(busybox):
        raise HostSetupError(
            "%s is missing or dynamically linked: install the Debian package busybox-static" % busybox)
    cpio = shutil.which("cpio")
    if not cpio:
        raise HostSetupError("cpio not found: install the Debian package cpio")
    return HostTools(qemu=qemu, kernel=kernel, busybox=busybox, cpio=cpio)


def _is_dynamic(path):
    # An ELF with a PT_INTERP program header needs a dynamic loader.
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return False
        phoff = int.from_bytes(head[0x20:0x28], "little")
        phentsize = int.from_bytes(head[0x36:0x38], "little")
        phnum = int.from_bytes(head[0x38:0x3A], "little")
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            if int.from_bytes(f.read(4), "little") == 3:  # PT_INTERP
                return True
    return False


def shared_libraries(path):
    """Every file `ldd` resolves for an ELF, the dynamic loader included."""
    if not _is_dynamic(path) and not path.endswith(".so") and ".so." not in path:
        return []
    out = subprocess.run(["ldd", path], capture_output=True, text=True, check=False).stdout
    libs = []
    for line in out.splitlines():
        if "not found" in line:
            raise HostSetupError("%s needs a library ldd cannot find: %s" % (path, line.strip()))
        for word in line.split():
            if word.startswith("/") and os.path.exists(word):
                libs.append(word)
    return libs


class Initramfs:
    """A root file system for the guest, laid out like the host's (merged /usr), so binaries and
    the libraries they look for sit at the same absolute paths inside as outside."""

    def __init__(self, tools):
        self.tools = tools
        self.root = tempfile.mkdtemp(prefix="xeonvm-root-")
        for d in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "proc", "sys", "dev", "tmp", "etc",
                  "work"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        for link in ("bin", "sbin", "lib", "lib64"):
            os.symlink("usr/" + link, os.path.join(self.root, link))
        self.add_file(tools.busybox, "/bin/busybox", with_libraries=False)
        self.add_file(os.path.join(HERE, "guest_init.sh"), "/init", with_libraries=False, mode=0o755)

    def add_file(self, src, dest=None, with_libraries=True, mode=None):
        dest = dest or src
        target = self.root + dest
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            shutil.copyfile(src, target)  # follows symlinks: the guest gets the real file
            shutil.copymode(src, target)
            # Debug builds of the library and spawn are mostly DWARF: the guest unpacks the
            # initramfs into its RAM, so keep only what runs.
            if os.path.getsize(target) > (2 << 20) and shutil.which("objcopy"):
                subprocess.run(["objcopy", "--strip-debug", target], check=False)
            if mode is not None:
                os.chmod(target, mode)
        if with_libraries:
            for lib in shared_libraries(src):
                self.add_file(lib, with_libraries=False)

    def add_text(self, dest, text, mode=0o644):
        target = self.root + dest
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as f:
            f.write(text)
        os.chmod(target, mode)

    def pack(self, path):
        names = subprocess.run(["find", "."], cwd=self.root, capture_output=True, text=True,
                               check=True).stdout
        with open(path, "wb") as out:
            subprocess.run([self.tools.cpio, "-o", "-H", "newc", "--quiet"], cwd=self.root,
                           input=names.encode(), stdout=out, check=True)

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


@dataclasses.dataclass
class QemuTopology:
    smp: str                 # "16,sockets=2,cores=4,threads=2"
    nodes: list              # [(memory MiB, "0-7" or None for a CPU-less node)]
    distances: list = dataclasses.field(default_factory=list)  # [(src, dst, value)]

    def args(self):
        total = sum(mib for mib, _ in self.nodes)
        args = ["-m", "%dM" % total, "-smp", self.smp]
        for node, (mib, cpus) in enumerate(self.nodes):
            args += ["-object", "memory-backend-ram,id=m%d,size=%dM" % (node, mib)]
            spec = "node,nodeid=%d,memdev=m%d" % (node, node)
            if cpus:
                # One cpus= per range: QEMU takes "a-b" but not "a-b,c".
                spec += "".join(",cpus=" + r for r in cpus.split(","))
            args += ["-numa", spec]
        for src, dst, val in self.distances:
            args += ["-numa", "dist,src=%d,dst=%d,val=%d" % (src, dst, val)]
        return args


@dataclasses.dataclass
class BootResult:
    exit_code: int           # the guest script's exit status; None when no end marker came
    files: dict              # path -> text, as dumped by the guest script
    console: str             # the whole console, for failure reports
    boot_seconds: float      # QEMU start -> first line of the guest script
    total_seconds: float     # QEMU start -> QEMU gone
    timed_out: bool


# The guest script ends by running this: every file under /tmp/out between markers.
GUEST_DUMP = r"""
for f in $(find /tmp/out -type f | sort); do
  echo "@@FILE $f@@"
  cat "$f"
  echo
  echo "@@EOF@@"
done
"""


def boot(tools, initrd, topology, timeout):
    # TCG: KVM is not usable on the CI machines (a PVM-style nested KVM hangs stock kernels).
    # The Intel vendor matters: with TCG's default AMD model the guest sees one thread per core.
    cmd = [tools.qemu, "-accel", "tcg,thread=multi", "-machine", "q35",
           "-cpu", "max,vendor=GenuineIntel", *topology.args(),
           "-kernel", tools.kernel, "-initrd", initrd,
           "-append", "console=ttyS0 panic=-1 rdinit=/init quiet loglevel=1 mitigations=off "
                      "tsc=reliable",
           "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none"]
    start = time.monotonic()
    begin_at = None
    lines = []
    timed_out = False
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = start + timeout
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        buf = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if not sel.select(timeout=min(remaining, 1.0)):
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            *complete, buf = buf.split(b"\n")
            for raw in complete:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                if begin_at is None and "@@XEONVM-BEGIN@@" in line:
                    begin_at = time.monotonic()
                lines.append(line)
        if buf:
            lines.append(buf.decode("utf-8", "replace").rstrip("\r"))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    total = time.monotonic() - start
    return _parse_console(lines, begin_at - start if begin_at else None, total, timed_out)


def kernel_failed_before_the_script(result):
    """The guest ended on its own (no timeout) before /init printed its begin marker, with a
    kernel panic or oops on the console."""
    return (result.boot_seconds is None and not result.timed_out and
            any(word in result.console for word in ("Kernel panic", "Oops", "BUG:")))


def boot_retrying_once(tools, initrd, topology, timeout, name):
    """boot(), and once more when the guest kernel died before anything of ours ran (seen once in
    ~40 boots of 6.12 under TCG: a fault in sched_clock_cpu at an initcall). The retry is said on
    stdout with the console's tail; a second failure is the caller's to report."""
    result = boot(tools, initrd, topology, timeout)
    if kernel_failed_before_the_script(result):
        print("guest %s: the kernel failed before the test script started; booting once more. "
              "Its console tail:\n%s" % (name, "\n".join(result.console.splitlines()[-8:])),
              flush=True)
        result = boot(tools, initrd, topology, timeout)
    return result


def _parse_console(lines, boot_seconds, total_seconds, timed_out):
    exit_code = None
    files = {}
    current = None
    body = []
    for line in lines:
        m = re.search(r"@@XEONVM-EXIT (\d+)@@", line)
        if m:
            exit_code = int(m.group(1))
        m = re.match(r"@@FILE (.+)@@$", line)
        if m:
            current, body = m.group(1), []
            continue
        if line == "@@EOF@@" and current is not None:
            files[current] = "\n".join(body).rstrip("\n") + "\n"
            current = None
            continue
        if current is not None:
            body.append(line)
    return BootResult(exit_code=exit_code, files=files, console="\n".join(lines),
                      boot_seconds=boot_seconds, total_seconds=total_seconds, timed_out=timed_out)
