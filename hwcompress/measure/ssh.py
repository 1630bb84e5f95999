"""SSH to a board with paramiko: commands with exit codes, SFTP uploads, host keys always checked.

An unknown or changed host key is an error that shows the key's fingerprint and says how to trust it; nothing
is accepted silently. Commands are argument lists, each argument quoted.
"""

from __future__ import annotations

import base64
import hashlib
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hwcompress.errors import HwcompressError


class SSHError(HwcompressError):
    """The board could not be reached, or would not let us in."""


@dataclass(frozen=True)
class Completed:
    command: str
    exit_status: int
    stdout: str
    stderr: str


def fingerprint(key) -> str:
    """OpenSSH's SHA256 fingerprint of a paramiko key."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


class Board:
    """One SSH connection to ``user@host:port`` (a context manager)."""

    def __init__(
        self,
        user: str,
        host: str,
        port: int = 22,
        key_file: Path | None = None,
        known_hosts: Path | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        self.user, self.host, self.port, self.timeout_s = user, host, port, timeout_s
        self.key_file, self.known_hosts = key_file, known_hosts
        self._client = None

    @property
    def address(self) -> str:
        return f"{self.user}@{self.host}" + (f":{self.port}" if self.port != 22 else "")

    @property
    def _known_name(self) -> str:
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    def __enter__(self) -> Board:
        import paramiko

        client = paramiko.SSHClient()
        if self.known_hosts is not None and self.known_hosts.is_file():
            client.load_host_keys(str(self.known_hosts))
        elif self.known_hosts is None:
            client.load_system_host_keys()
        client.set_missing_host_key_policy(_RejectUnknown(self))
        try:
            client.connect(
                self.host,
                self.port,
                username=self.user,
                key_filename=str(self.key_file) if self.key_file else None,
                look_for_keys=self.key_file is None,
                allow_agent=self.key_file is None,
                timeout=15,
                banner_timeout=15,
                auth_timeout=15,
            )
        except BaseException as err:
            client.close()
            raise self._explained(err) from None
        self._client = client
        return self

    def _explained(self, err: BaseException) -> BaseException:
        """The one-line error for a failed connection (``err`` itself when it is not a connection problem)."""
        import paramiko

        if isinstance(err, SSHError):
            return err
        if isinstance(err, paramiko.BadHostKeyException):
            return SSHError(
                f"the host key of {self._known_name} changed: it is {fingerprint(err.key)}, known_hosts says "
                f"{fingerprint(err.expected_key)}; if the board was reinstalled, remove the old key with "
                f"`ssh-keygen -R '{self._known_name}'` and trust the new one (anyone could be in between)"
            )
        if isinstance(err, paramiko.AuthenticationException):
            key = f"the key {self.key_file}" if self.key_file else "the SSH agent's and ~/.ssh's keys"
            return SSHError(f"{self.address} refused {key}; add its public key to the board's authorized_keys")
        if isinstance(err, OSError | paramiko.SSHException):
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err) or type(err).__name__
            return SSHError(f"cannot reach {self.host}:{self.port} ({reason}); is the board on and sshd running?")
        return err

    def __exit__(self, *exc) -> None:
        if self._client is not None:
            self._client.close()

    def run(self, args: Sequence[str], cwd: str | None = None, prefix: str | None = None) -> Completed:
        """Run ``args`` (each quoted) on the board, after ``cd cwd`` and a sourced ``prefix`` file."""
        command = shlex.join(args)
        if prefix:
            command = f". {shlex.quote(prefix)} && {command}"
        if cwd:
            command = f"cd {shlex.quote(cwd)} && {command}"
        try:
            _, stdout, stderr = self._client.exec_command(command, timeout=self.timeout_s)
            out, err = stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")
            status = stdout.channel.recv_exit_status()
        except TimeoutError:
            raise SSHError(f"`{command}` on {self.address} took longer than {self.timeout_s:g} s") from None
        return Completed(command, status, out, err)

    def upload(self, local: Path, remote: str) -> None:
        with self._client.open_sftp() as sftp:
            sftp.put(str(local), remote)


class _RejectUnknown:
    """paramiko's missing-host-key policy: refuse, naming the key and how to trust it."""

    def __init__(self, board: Board) -> None:
        self.board = board

    def missing_host_key(self, client, hostname, key) -> None:
        board = self.board
        where = board.known_hosts or "~/.ssh/known_hosts"
        port = f" -p {board.port}" if board.port != 22 else ""
        raise SSHError(
            f"the host key of {board._known_name} is not in {where} ({key.get_name()} {fingerprint(key)}); "
            f"if that is the board's, trust it with `ssh-keyscan{port} {board.host} >> {where}`"
        )
