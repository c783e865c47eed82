"""What the three experiments share: the blog's data and the optional pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# The blog's line: y = m x + b.
M, B = 3.0, -2.0


def line_data(seed: int, n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """The blog's regression data: x ~ N(0, 1), y = 3x - 2 plus noise of scale 1/100."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, M * x + B + rng.normal(size=n) / 100


def class_data(seed: int, n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Labels for the classification experiments: 1 where 3x - 2 plus unit noise is positive."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, (M * x + B + rng.normal(size=n) > 0).astype(float)


def save_pictures(out_dir: str | Path | None, name: str, losses: list[float],
                  x: np.ndarray, y: np.ndarray, fitted: np.ndarray) -> list[Path]:
    """Save the loss curve and the fit as PNGs; without matplotlib say so and skip them."""
    if out_dir is None:
        return []
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed, so no pictures: pip install 'dualgrad[plot]'")
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    loss_path, fit_path = out / f"{name}_loss.png", out / f"{name}_fit.png"

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(np.arange(1, len(losses) + 1), losses)
    ax.set(xlabel="epoch", ylabel="training loss", title=f"{name}: loss")
    ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(loss_path, dpi=100)
    plt.close(fig)

    order = np.argsort(x)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.scatter(x, y, s=10, alpha=0.6, label="data")
    ax.plot(x[order], fitted[order], color="C3", label="model")
    ax.set(xlabel="x", ylabel="y", title=f"{name}: fit")
    ax.legend()
    fig.tight_layout()
    fig.savefig(fit_path, dpi=100)
    plt.close(fig)
    print(f"saved {loss_path} and {fit_path}")
    return [loss_path, fit_path]
