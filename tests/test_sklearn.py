"""dualgrad.sklearn: the estimators pass scikit-learn's own checks (those that cannot pass are
listed with their reasons) and work in Pipeline, cross_val_score and GridSearchCV."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer, make_blobs
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import dualgrad as dg
from dualgrad.sklearn import DualgradClassifier, DualgradRegressor

SMALL = {"seed": 0, "epochs": 20, "optimizer": {"type": "adam", "lr": 0.05},
         "layers": [{"type": "dense", "units": 8, "activation": "relu"}]}

# Training by stochastic mini-batches is not the same with a sample of weight 2 as with that
# sample twice (the batches differ), as for scikit-learn's own SGD estimators.
EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data":
        "mini-batch training: a weight of 2 is not a repeated sample",
}


_CHECKS = parametrize_with_checks([DualgradClassifier(**SMALL), DualgradRegressor(**SMALL)],
                                  expected_failed_checks=lambda estimator: EXPECTED_FAILURES)
# older scikit-learn (1.7, the last for Python 3.10) hands pytest a generator of cases, which
# pytest deprecates: a list serves every version
_CHECKS = pytest.mark.parametrize(_CHECKS.mark.args[0], list(_CHECKS.mark.args[1]),
                                  **_CHECKS.mark.kwargs)


@_CHECKS
def test_scikit_learn_estimator_checks(estimator, check):
    """Each of scikit-learn's estimator checks passes (or fails as listed, with its reason)."""
    check(estimator)


def test_the_defaults_make_a_complete_classifier():
    """DualgradClassifier(epochs=..., seed=0) after a scaler classifies breast cancer well."""
    x, y = load_breast_cancer(return_X_y=True)
    clf = make_pipeline(StandardScaler(), DualgradClassifier(epochs=10, seed=0))
    assert cross_val_score(clf, x, y, cv=3).mean() > 0.93


def test_string_labels_come_back_as_strings():
    """Labels of any sortable type are learnt and predicted as given; proba columns follow
    classes_."""
    x, labels = make_blobs(n_samples=90, centers=3, random_state=0)
    names = np.array(["setosa", "versicolor", "virginica"])[labels]
    clf = DualgradClassifier(**SMALL).fit(x, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert clf.predict(x).dtype == names.dtype
    assert clf.score(x, names) > 0.9
    assert clf.predict_proba(x).shape == (90, 3)
    assert clf.model_.get_config()["loss"]["type"] == "softmax_cross_entropy"


def test_two_classes_train_one_sigmoid_output():
    """Two classes: one sigmoid output under logloss; predict_proba has two columns."""
    x, labels = make_blobs(n_samples=60, centers=2, random_state=0)
    clf = DualgradClassifier(**SMALL).fit(x, labels)
    assert clf.model_.get_config()["loss"]["type"] == "logloss"
    proba = clf.predict_proba(x)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(x, labels) > 0.9


def test_parameters_are_the_models_and_fits():
    """get_params names the Model's and fit's parameters; set_params changes them."""
    clf = DualgradClassifier()
    assert {"layers", "loss", "optimizer", "metrics", "seed", "epochs", "batch_size",
            "validation_split", "shuffle"} <= set(clf.get_params())
    clf.set_params(epochs=3, optimizer="sgd")
    assert clf.epochs == 3 and clf.optimizer == "sgd"


def test_grid_search_in_two_processes():
    """GridSearchCV(n_jobs=2) searches the learning rate across processes."""
    x, y = make_blobs(n_samples=60, centers=2, random_state=0)
    grid = GridSearchCV(DualgradClassifier(**SMALL), {"epochs": [2, 10]}, cv=2, n_jobs=2)
    grid.fit(x, y)
    assert grid.best_params_["epochs"] in (2, 10)
    assert grid.score(x, y) > 0.8


def test_a_fitted_estimator_pickles_with_its_model():
    """A fitted estimator survives pickling with the same predictions."""
    x, y = make_blobs(n_samples=40, centers=2, random_state=0)
    reg = DualgradRegressor(**SMALL).fit(x, y.astype(float))
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(x), reg.predict(x))
    assert isinstance(again.model_, dg.Model)
