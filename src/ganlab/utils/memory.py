"""Memory free to take, to refuse before allocating what cannot fit (an image size, a network)."""

from __future__ import annotations


def available_memory() -> int | None:
    """Bytes of memory free for this process to take (Linux: MemAvailable), None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def gigabytes(size: float) -> str:
    return f"{size / 2**30:.1f} GB"
