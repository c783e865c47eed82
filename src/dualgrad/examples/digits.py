"""Handwritten digits (scikit-learn's 8x8 digits): a 64-32-10 network with softmax
cross-entropy, accuracy, validation, early stopping, and a picture of the history.

    python -m dualgrad.examples.digits      # needs scikit-learn (and matplotlib for the plot)

Forward-mode gradients cost one tangent direction per weight (2410 here), so the full run
takes minutes; `subset` and `epochs` make it quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import dualgrad as dg
from dualgrad.callbacks import EarlyStopping


def main(epochs: int = 100, subset: int | None = None, seed: int = 0,
         out_dir: str | Path | None = None, verbose: bool = False) -> dict[str, Any]:
    """Train on a stratified 80% of the digits (or of their first `subset`), report the test
    accuracy on the other 20%; returns the accuracy, the history and the model."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    if subset is not None:
        x, y = x[:subset], y[:subset]
    x = x / 16.0  # pixels are 0..16
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y,
                                                        random_state=seed)
    model = dg.Model([{"type": "dense", "units": 32, "activation": "relu"},
                      {"type": "dense", "units": 10}],
                     "softmax_cross_entropy", {"type": "adam", "lr": 0.01},
                     metrics=["accuracy"], seed=seed)
    stop = EarlyStopping(monitor="val_accuracy", patience=10, restore_best_weights=True)
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=32, validation_split=0.1,
                        callbacks=[stop], verbose=verbose)
    accuracy = model.evaluate(x_test, y_test, return_dict=True)["accuracy"]
    print(f"digits: {len(history.epoch)} epoch(s), test accuracy {accuracy:.3f}")
    _plot(history.history, out_dir)
    return {"accuracy": accuracy, "history": history.history, "model": model}


def _plot(history: dict[str, list[float]], out_dir: str | Path | None) -> None:
    if out_dir is None:
        return
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed, so no picture: pip install 'dualgrad[plot]'")
        return
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for key, ax in (("loss", left), ("accuracy", right)):
        ax.plot(epochs, history[key], label="training")
        ax.plot(epochs, history[f"val_{key}"], label="validation")
        ax.set(xlabel="epoch", title=key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "digits_history.png", dpi=100)
    plt.close(fig)
    print(f"saved {out / 'digits_history.png'}")


if __name__ == "__main__":
    main(verbose=True, out_dir=".")
