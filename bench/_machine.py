"""Machine details printed at the top of every benchmark."""

from __future__ import annotations

import os
import platform

import numpy as np
import scipy


def describe() -> str:
    """One paragraph: CPU, cores, Python, NumPy/SciPy and their BLAS."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    blas = "unknown"
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]["name"]
    except Exception:
        pass
    return (
        f"{cpu}; {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"NumPy {np.__version__} ({blas}); SciPy {scipy.__version__}"
    )
