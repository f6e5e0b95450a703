"""A small client of the GDB remote serial protocol, for QEMU's gdbstub.

It does what the lab needs and no more: list the vCPUs (threads), read registers by name (the
register numbers come from the target description QEMU sends, which for AArch64 includes every
system register as ``system-registers.xml``), and read physical memory (QEMU's
``Qqemu.PhyMemMode:1``).  Packet framing, acknowledgements, binary escapes and run-length encoding
follow the GDB manual's "Remote Protocol" appendix.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field

from memattr.errors import MemattrError


# Registers QEMU's target description names differently (its cpreg names): SCTLR_EL1 is "SCTLR".
ALIASES = {"SCTLR_EL1": "SCTLR"}


def _checksum(data: bytes) -> bytes:
    return f"{sum(data) % 256:02x}".encode()


def _unescape(data: bytes) -> bytes:
    """Undo the binary escapes ('}' then the byte XOR 0x20) and run-length encoding ('*')."""
    out = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == 0x7D and i + 1 < len(data):
            out.append(data[i + 1] ^ 0x20)
            i += 2
        elif byte == 0x2A and out and i + 1 < len(data):
            out.extend(out[-1:] * (data[i + 1] - 29))
            i += 2
        else:
            out.append(byte)
            i += 1
    return bytes(out)


@dataclass
class GdbRemote:
    path: str
    timeout: float = 30.0
    sock: socket.socket = field(init=False)
    buffer: bytes = field(default=b"", init=False)
    registers: dict[str, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        try:
            self.sock.connect(self.path)
        except OSError as error:
            raise MemattrError(f"cannot connect to the gdbstub: {error.strerror or error}", source=self.path) from None
        # QEMU stops the machine when a debugger connects and may announce it with an unsolicited stop
        # reply; drop whatever arrives in the first moment so replies pair with their commands.
        self.sock.settimeout(0.5)
        try:
            while True:
                self._receive()
        except (TimeoutError, socket.timeout):
            pass
        self.buffer = b""
        self.sock.settimeout(self.timeout)

    def close(self) -> None:
        self.sock.close()

    # -- framing ---------------------------------------------------------------------------------------

    def _read_byte(self) -> int:
        while not self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise MemattrError("the gdbstub closed the connection", source=self.path)
            self.buffer += chunk
        byte, self.buffer = self.buffer[0], self.buffer[1:]
        return byte

    def _receive(self) -> bytes:
        while self._read_byte() != ord("$"):
            pass
        data = bytearray()
        while (byte := self._read_byte()) != ord("#"):
            data.append(byte)
        received = bytes([self._read_byte(), self._read_byte()])
        if received.lower() != _checksum(bytes(data)):
            self.sock.sendall(b"-")
            return self._receive()
        self.sock.sendall(b"+")
        return _unescape(bytes(data))

    def _send(self, payload: str) -> None:
        """Send one packet, resending it (up to three times) until the stub acknowledges it with '+'."""
        data = payload.encode()
        for _ in range(3):
            self.sock.sendall(b"$" + data + b"#" + _checksum(data))
            if self._read_byte() == ord("+"):
                return

    def command(self, payload: str) -> str:
        self._send(payload)
        return self._receive().decode("latin-1")

    def resume(self) -> None:
        """Let the machine run ('c'); its stop reply comes only after :meth:`stop`."""
        self._send("c")

    def stop(self) -> str:
        """Interrupt the machine (QEMU stops every vCPU); returns the stop reply."""
        self.sock.sendall(b"\x03")
        return self._receive().decode("latin-1")

    # -- queries ---------------------------------------------------------------------------------------

    def threads(self) -> list[str]:
        ids: list[str] = []
        reply = self.command("qfThreadInfo")
        while reply.startswith("m"):
            ids += reply[1:].split(",")
            reply = self.command("qsThreadInfo")
        return ids

    def select(self, thread: str) -> None:
        if self.command(f"Hg{thread}") != "OK":
            raise MemattrError(f"the gdbstub refused thread {thread}")

    def _annex(self, name: str) -> str:
        text, offset = "", 0
        while True:
            reply = self.command(f"qXfer:features:read:{name}:{offset:x},{0xFFB:x}")
            if not reply or reply[0] not in "ml":
                raise MemattrError(f"the gdbstub did not send {name}: {reply[:60]!r}")
            text += reply[1:]
            offset += len(reply) - 1
            if reply[0] == "l":
                return text

    def load_registers(self) -> dict[str, int]:
        """Register numbers by name, from target.xml and every file it includes."""
        if self.registers:
            return self.registers
        number = 0
        pending = ["target.xml"]
        seen: set[str] = set()
        while pending:
            name = pending.pop(0)
            if name in seen:
                continue
            seen.add(name)
            text = self._annex(name)
            # Includes are read in document order, so numbering without regnum continues correctly.
            includes = re.findall(r'<xi:include\s+href="([^"]+)"', text)
            pending = includes + pending
            # QEMU's files use an undeclared xi: prefix, which an XML parser rejects: read the tags directly.
            for tag in re.findall(r"<reg\s[^>]*>", text):
                attributes = dict(re.findall(r'(\w+)="([^"]*)"', tag))
                number = int(attributes.get("regnum", number))
                self.registers[attributes.get("name", "").upper()] = number
                number += 1
        return self.registers

    def register(self, name: str) -> int:
        numbers = self.load_registers()
        name = ALIASES.get(name.upper(), name) if name.upper() not in numbers else name
        if name.upper() not in numbers:
            raise MemattrError(f"the gdbstub has no register {name}", expected="a register in QEMU's target description")
        reply = self.command(f"p{numbers[name.upper()]:x}")
        if not reply or reply.startswith("E"):
            raise MemattrError(f"the gdbstub could not read {name}: {reply!r}")
        return int.from_bytes(bytes.fromhex(reply), "little")

    def physical_mode(self) -> None:
        if self.command("Qqemu.PhyMemMode:1") != "OK":
            raise MemattrError("this QEMU's gdbstub cannot read physical memory (Qqemu.PhyMemMode)")

    def read_memory(self, address: int, length: int) -> bytes:
        reply = self.command(f"m{address:x},{length:x}")
        if not reply or reply.startswith("E"):
            raise MemattrError(f"cannot read {length} bytes at {address:#x}: {reply!r}")
        return bytes.fromhex(reply)

    def read_u64(self, address: int) -> int:
        return int.from_bytes(self.read_memory(address, 8), "little")
