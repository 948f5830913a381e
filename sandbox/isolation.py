"""Isolation of a sandbox child, applied right after fork and before any untrusted code runs.

Layers, each a backstop for the one before: RestrictedPython (the language), then here — a new session,
an empty working directory, no environment, no inherited files, resource limits, an unprivileged user
where we are root, and a seccomp filter that refuses process creation, sockets and file writes where the
machine has libseccomp.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import tempfile

from sandbox.evaluation import Limits

NOBODY = 65534
DENIED_SYSCALLS = (
    "execve", "execveat", "fork", "vfork", "clone", "clone3", "ptrace", "kill", "tkill", "tgkill",
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    "creat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir",
    "link", "linkat", "symlink", "symlinkat", "truncate", "chmod", "fchmod", "fchmodat", "chown", "fchown",
    "lchown", "fchownat", "mount", "umount2", "unshare", "setns", "chroot", "pivot_root",
    "process_vm_readv", "process_vm_writev", "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
)  # fmt: skip
WRITE_FLAGS = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC, os.O_APPEND)


class Seccomp:
    """The child's syscall filter as a compiled BPF program, made once in the warm parent.

    libseccomp compiles a filter on every `load`; compiling it once and installing the program with one
    `prctl` in each child saves that work per evaluation.
    """

    PR_SET_NO_NEW_PRIVS = 38
    PR_SET_SECCOMP = 22
    SECCOMP_MODE_FILTER = 2

    class _Program(ctypes.Structure):
        _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))

    def __init__(self, bpf: bytes) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._buffer = ctypes.create_string_buffer(bpf, len(bpf))
        self._program = self._Program(len(bpf) // 8, ctypes.cast(self._buffer, ctypes.c_void_p))

    @classmethod
    def build(cls) -> Seccomp | None:
        """The filter refusing DENIED_SYSCALLS and opening files for writing; None where libseccomp is missing."""
        try:
            import pyseccomp

            deny = pyseccomp.ERRNO(errno.EPERM)
            syscall_filter = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
            for name in DENIED_SYSCALLS:
                try:
                    syscall_filter.add_rule(deny, name)
                except (ValueError, RuntimeError, OSError):
                    continue  # not a syscall on this architecture
            for name, flags_arg in (("open", 1), ("openat", 2)):
                for flag in WRITE_FLAGS:
                    syscall_filter.add_rule(deny, name, pyseccomp.Arg(flags_arg, pyseccomp.MASKED_EQ, flag, flag))
            with tempfile.TemporaryFile() as program:
                syscall_filter.export_bpf(program)
                program.seek(0)
                return cls(program.read())
        except Exception:  # no libseccomp, no permission: the other layers still hold
            return None

    def install(self) -> None:
        """Apply the filter to this process for good (and to nothing else)."""
        libc, program = self._libc, self._program
        if libc.prctl(self.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or libc.prctl(
            self.PR_SET_SECCOMP, self.SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0
        ):
            raise OSError(ctypes.get_errno(), "the seccomp filter could not be installed")


def _address_space_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def isolate(workdir: str, keep_fd: int, limits: Limits, seccomp: Seccomp | None) -> None:
    """Confine this (child) process: call first thing after fork; the session must already be new."""
    os.chdir(workdir)
    os.environ.clear()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, 1 << 16)
    memory = _address_space_bytes() + limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    if seccomp is not None:
        seccomp.install()
