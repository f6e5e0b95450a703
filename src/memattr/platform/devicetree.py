"""Flattened device trees (``.dtb``, e.g. a copy of /sys/firmware/fdt), read with the ``fdt`` library.

Each node with ``reg`` becomes a platform device: its ``compatible`` strings, its MMIO ranges
translated to CPU physical addresses through the parents' ``ranges`` (an empty ``ranges`` is the
identity; a node whose parent has no ``ranges`` is not memory-mapped), ``dma-coherent`` and ``status``.
"""

from __future__ import annotations

import fdt

from memattr.errors import MemattrError
from memattr.platform.inventory import PlatformDevice

# Nodes that describe memory or CPUs, not devices.
SKIP_PREFIXES = ("/memory", "/cpus", "/reserved-memory", "/chosen", "/aliases", "/psci")


def parse_dtb(data: bytes, source: str = "fdt") -> tuple[PlatformDevice, ...]:
    if len(data) < 40 or data[:4] != b"\xd0\x0d\xfe\xed":
        raise MemattrError("not a flattened device tree", source=source, line=1,
                           expected="a .dtb starting with the magic 0xd00dfeed")
    try:
        tree = fdt.parse_dtb(data)
        walked = list(tree.walk())
    except Exception as error:  # the library raises many types on corrupt input
        raise MemattrError(f"corrupt device tree: {type(error).__name__}: {error}"[:200], source=source, line=1,
                           expected="a well-formed .dtb (dtc -I dtb -O dts reads it)") from None
    nodes = {path: {prop.name: prop for prop in props} for path, _, props in walked}
    devices = []
    for path, props in nodes.items():
        if "reg" not in props or path == "/" or path.startswith(SKIP_PREFIXES):
            continue
        if "interrupt-controller" in props or "device_type" in props:
            continue  # the GIC, memory and PCI host bridges (their reg is ECAM, not a device to assign)
        parent = _parent(path)
        address_cells, size_cells = _cells(nodes, parent)
        words = _words(props["reg"], path, source)
        stride = address_cells + size_cells
        if stride == 0 or len(words) % stride:
            raise MemattrError(f"{path}: reg has {len(words)} cells, not a multiple of #address-cells + "
                               f"#size-cells = {stride}", source=source, line=1, expected="well-formed reg")
        regs = []
        translated = True
        for offset in range(0, len(words), stride):
            address = _number(words[offset:offset + address_cells])
            size = _number(words[offset + address_cells:offset + stride])
            cpu = _translate(nodes, parent, address)
            if cpu is None:
                translated = False
                break
            regs.append((cpu, size))
        if not translated or not regs or size_cells == 0:
            continue  # e.g. I2C/SPI children: reg is a bus address, not MMIO
        compatible = tuple(props["compatible"].data) if "compatible" in props and hasattr(props["compatible"], "data") else ()
        status = props["status"].data[0] if "status" in props and hasattr(props["status"], "data") else "okay"
        devices.append(PlatformDevice(
            path=path, compatible=tuple(str(c) for c in compatible), regs=tuple(regs),
            dma_coherent="dma-coherent" in props, status=str(status), source=source,
        ))
    return tuple(devices)


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def _cells(nodes: dict, path: str) -> tuple[int, int]:
    props = nodes.get(path, {})
    address = props.get("#address-cells")
    size = props.get("#size-cells")
    # Devicetree specification 2.3.5: defaults are 2 and 1 when absent.
    return (int(address.data[0]) if address is not None and hasattr(address, "data") else 2,
            int(size.data[0]) if size is not None and hasattr(size, "data") else 1)


def _words(prop: object, path: str, source: str) -> list[int]:
    data = getattr(prop, "data", None)
    if data is None:
        return []
    if isinstance(data, (bytes, bytearray)) or (data and isinstance(data[0], int) and prop.__class__.__name__ == "PropBytes"):
        raw = bytes(data)
        if len(raw) % 4:
            raise MemattrError(f"{path}: reg is {len(raw)} bytes, not whole 32-bit cells", source=source, line=1,
                               expected="a multiple of 4 bytes")
        return [int.from_bytes(raw[i:i + 4], "big") for i in range(0, len(raw), 4)]
    try:
        return [int(word) for word in data]
    except (TypeError, ValueError):
        raise MemattrError(f"{path}: reg is not a list of cells", source=source, line=1,
                           expected="32-bit cells") from None


def _number(cells: list[int]) -> int:
    value = 0
    for cell in cells:
        value = (value << 32) | cell
    return value


def _translate(nodes: dict, bus: str, address: int) -> int | None:
    """Translate a bus address through each ancestor's ``ranges`` up to the root; None if unmapped."""
    while bus != "/":
        props = nodes.get(bus, {})
        if "ranges" not in props:
            return None
        words = getattr(props["ranges"], "data", None)
        if words:
            child_cells, _ = _cells(nodes, bus)
            parent_cells, _ = _cells(nodes, _parent(bus))
            _, size_cells = _cells(nodes, bus)
            stride = child_cells + parent_cells + size_cells
            cells = [int(w) for w in words] if not isinstance(words, (bytes, bytearray)) else []
            for offset in range(0, len(cells) - stride + 1, stride):
                child = _number(cells[offset:offset + child_cells])
                parent = _number(cells[offset + child_cells:offset + child_cells + parent_cells])
                size = _number(cells[offset + child_cells + parent_cells:offset + stride])
                if child <= address < child + size:
                    address = parent + (address - child)
                    break
            else:
                return None
        bus = _parent(bus)
    return address
