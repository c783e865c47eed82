"""Breast cancer through the scikit-learn wrapper: a Pipeline of a scaler and
`DualgradClassifier`, scored by 5-fold cross-validation.

    python -m dualgrad.examples.breast_cancer   # needs scikit-learn
"""

from __future__ import annotations

from typing import Any


def main(epochs: int = 20, folds: int = 5, seed: int = 0) -> dict[str, Any]:
    """Cross-validated accuracy of the default classifier after a StandardScaler."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from dualgrad.sklearn import DualgradClassifier

    x, y = load_breast_cancer(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), DualgradClassifier(epochs=epochs, seed=seed))
    scores = cross_val_score(pipeline, x, y, cv=folds)
    print(f"breast cancer: accuracy {scores.mean():.3f} +- {scores.std():.3f} over {folds} "
          "folds")
    return {"scores": scores}


if __name__ == "__main__":
    main()
