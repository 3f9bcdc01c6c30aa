"""Tests of implicit_bias.diagnostics.margins (moroshko2020 §4-§5: Figs. 3-5, Condition 5).

Oracles: hand-computed values (derivations in comments), round trips, independent recomputation
from the definitions, and for the kink of the Q_mu path the equality-constrained Q-minimal
interpolant of theory.diagonal (a different solver: its multiplier of the leaving sample
crosses zero exactly at the kink).

Every Q_mu solve uses data of shape (4, 3) and 8-point grids, as tests/theory/test_margins.py,
so that the jitted solver compiles once per kind.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy.optimize import brentq

import implicit_bias  # noqa: F401  (float64)
from implicit_bias.diagnostics import margins as dm
from implicit_bias.diagnostics.margins import (
    Condition5Check,
    SupportChange,
    azimuth_pitch,
    condition5_holds,
    condition5_ratio,
    excess_l1_norm,
    from_azimuth_pitch,
    margin_normalized,
    normalized_predictor,
    support_change_points,
    support_changes,
    support_vectors,
)
from implicit_bias.theory.diagonal_margins import q_mu_max_margin, q_mu_path
from implicit_bias.theory.margins import max_margin

# Fig. 3b-type: the l2 and l1 max-margin have the same support {0, 1, 3} (row 3 = row 0),
# unique l1 solution (0, -1/3, 1/9); the support is constant along the Q path.
XB = np.array([[-1.0, -2.0, 3.0], [3.0, -3.0, 0.0], [-2.0, 3.0, -2.0], [-1.0, -2.0, 3.0]])
YB = np.array([1.0, 1.0, -1.0, 1.0])
# Fig. 3d-type: all samples support the l2 max-margin, the l1 max-margin (2/3, 0, 1/6) is
# supported by {0, 2}: sample 1 leaves the support along the path (D = 3: at mu_0 ~ 0.1314).
XD = np.array([[1.0, 0.0, 2.0], [3.0, 0.0, -3.0], [2.0, -2.0, -2.0], [1.0, 0.0, 2.0]])
YD = np.ones(4)
# Fig. 4-type (D = 3): stable support, but the l1 point is not an l_{2/3} KKT point.
XF = np.array([[3.0, 1.0, 1.0], [3.0, 1.0, 2.0], [2.0, -2.0, -3.0], [3.0, 1.0, 1.0]])
GRID7 = np.geomspace(10.0, 1e-5, 7)
GRID8 = np.geomspace(10.0, 1e-5, 8)


# ----------------------------------------------------------------------------------------
# Normalisations
# ----------------------------------------------------------------------------------------


def test_normalized_predictor():
    np.testing.assert_allclose(normalized_predictor([3.0, 4.0]), [0.6, 0.8])
    W = np.array([[3.0, 4.0], [0.0, -2.0]])
    np.testing.assert_allclose(normalized_predictor(W), [[0.6, 0.8], [0.0, -1.0]])
    np.testing.assert_allclose(normalized_predictor([3.0, -1.0], norm="l1"), [0.75, -0.25])
    np.testing.assert_allclose(normalized_predictor([3.0, -1.0], norm="linf"), [1.0, -1 / 3])
    with pytest.raises(ValueError, match="zero vector"):
        normalized_predictor([[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="unknown norm"):
        normalized_predictor([1.0, 0.0], norm="l0")
    with pytest.raises(ValueError, match="NaN"):
        normalized_predictor([np.nan, 1.0])


def test_margin_normalized():
    # margins of w = (1, 1, 1) on XB: (0, 0, 1, 0)... choose w = l2 solution scaled by 7
    l2 = max_margin(XB, YB)
    np.testing.assert_allclose(margin_normalized(XB, YB, 7.0 * l2.w), l2.w, rtol=1e-14)
    W = np.stack([2.0 * l2.w, 0.5 * l2.w])
    np.testing.assert_allclose(margin_normalized(XB, YB, W), np.stack([l2.w, l2.w]), rtol=1e-14)
    with pytest.raises(ValueError, match=r"w\[1\] does not separate"):
        margin_normalized(XB, YB, np.stack([l2.w, -l2.w]))


# ----------------------------------------------------------------------------------------
# Sphere coordinates
# ----------------------------------------------------------------------------------------


def test_azimuth_pitch_standard_frame_hand_values():
    az, pitch = azimuth_pitch(np.array([[1.0, 0, 0], [0, 2.0, 0], [0, 0, 5.0], [0, 1.0, 1.0], [-1.0, 0, 0]]))
    np.testing.assert_allclose(az, [0.0, 90.0, 0.0, 90.0, 180.0], atol=1e-12)
    np.testing.assert_allclose(pitch, [0.0, 0.0, 90.0, 45.0, 0.0], atol=1e-12)
    az_r, pitch_r = azimuth_pitch([0.0, 1.0, 1.0], degrees=False)
    np.testing.assert_allclose([az_r, pitch_r], [math.pi / 2, math.pi / 4])


def test_azimuth_pitch_reference_frame_round_trip_and_local_chart():
    rng = np.random.default_rng(0)
    ref = np.array([0.3, -0.5, 0.8])
    az, pitch = azimuth_pitch(ref * 4.0, reference=ref)
    assert abs(az) < 1e-12 and abs(pitch) < 1e-12  # the reference sits at the origin
    U = rng.standard_normal((50, 3))
    for up in (None, np.array([1.0, 1.0, 0.0])):
        az, pitch = azimuth_pitch(U, reference=ref, up=up)
        back = from_azimuth_pitch(az, pitch, reference=ref, up=up)
        np.testing.assert_allclose(back, U / np.linalg.norm(U, axis=1, keepdims=True), atol=1e-13)
    # near the reference the coordinates are Cartesian in the tangent plane (radians):
    # w = e1 + a e2 + b e3 with e3 = the part of e_z orthogonal to e1, e2 = e3 x e1
    e1 = ref / np.linalg.norm(ref)
    e3 = np.array([0.0, 0.0, 1.0]) - e1[2] * e1
    e3 /= np.linalg.norm(e3)
    e2 = np.cross(e3, e1)
    a, b = 1e-4, -2e-4
    az, pitch = azimuth_pitch(e1 + a * e2 + b * e3, reference=ref, degrees=False)
    np.testing.assert_allclose([az, pitch], [a, b], rtol=1e-7)
    with pytest.raises(ValueError, match="d = 3"):
        azimuth_pitch([1.0, 0.0])
    with pytest.raises(ValueError, match="parallel"):
        azimuth_pitch([1.0, 0, 0], reference=[0, 0, 1.0], up=[0, 0, 2.0])
    with pytest.raises(ValueError, match="zero vector"):
        azimuth_pitch([0.0, 0, 0])


# ----------------------------------------------------------------------------------------
# Excess l1 norm
# ----------------------------------------------------------------------------------------


def test_excess_l1_norm_hand_and_definition():
    # one constraint w1 + 2 w2 >= 1 (four copies): l1 max-margin (0, 1/2, 0), ||.||_1 = 1/2.
    # w = (1, 2, 0): margin 5, w/5 has l1 norm 3/5, excess 3/5 / (1/2) - 1 = 0.2.
    z = np.array([1.0, 2.0, 0.0])
    X = np.array([z, z, z, z])
    y = np.ones(4)
    out = excess_l1_norm(X, y, [[0.0, 1.0, 0.0], [1.0, 2.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 3.0, 1.0]])
    np.testing.assert_allclose(out[:2], [0.0, 0.2], atol=1e-15)
    assert out[2] == np.inf  # does not separate
    np.testing.assert_allclose(out[3], (4.0 / 6.0) / 0.5 - 1.0)
    # equals gamma_1* / gamma_1(w) - 1 (normalised l1 margins) on random predictors
    rng = np.random.default_rng(1)
    W = max_margin(XB, YB).w + 0.05 * rng.standard_normal((20, 3))
    l1 = max_margin(XB, YB, "l1")
    gam = np.min((YB[:, None] * XB) @ W.T, axis=0) / np.abs(W).sum(axis=1)
    expected = np.where(gam > 0, l1.margin / np.where(gam > 0, gam, 1) - 1, np.inf)
    np.testing.assert_allclose(excess_l1_norm(XB, YB, W), expected, rtol=1e-12)
    np.testing.assert_allclose(excess_l1_norm(XB, YB, W, w_l1=3.0 * np.asarray(l1.w)), expected, rtol=1e-12)
    assert np.all(excess_l1_norm(XB, YB, W) >= 0)
    with pytest.raises(ValueError, match="w_l1 must separate"):
        excess_l1_norm(XB, YB, W, w_l1=-np.asarray(l1.w))


# ----------------------------------------------------------------------------------------
# Support vectors and their changes
# ----------------------------------------------------------------------------------------


def test_support_vectors_hand_and_on_the_path():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    y = np.ones(3)
    np.testing.assert_array_equal(support_vectors(X, y, [1.0, 1.0]), [True, True, False])
    np.testing.assert_array_equal(support_vectors(X, y, [1.0, 1.001]), [True, False, False])
    np.testing.assert_array_equal(support_vectors(X, y, [1.0, 1.001], rtol=1e-2), [True, True, False])
    np.testing.assert_array_equal(support_vectors(X, y, [[1.0, 1.0], [2.0, 1.0]]), [[True, True, False], [False, True, False]])
    path = q_mu_path(XD, YD, GRID8, depth=3)
    np.testing.assert_array_equal(support_vectors(XD, YD, path.w), path.support)
    with pytest.raises(ValueError, match="rtol"):
        support_vectors(X, y, [1.0, 1.0], rtol=-1.0)


def test_support_changes_hand_and_path():
    S = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1], [1, 0, 1]], dtype=bool)
    assert support_changes(S) == [SupportChange(2, 1.0, 2.0, (2,), (1,))]
    assert support_changes(S[:2]) == []
    path = q_mu_path(XD, YD, GRID8, depth=3)
    ch = support_changes(path)  # a QMuPath: params are its mus
    assert len(ch) == 1 and ch[0].removed == (1,) and ch[0].added == ()
    assert ch[0].before > 0.1314 > ch[0].after
    with pytest.raises(ValueError, match=r"shape \(B, N\)"):
        support_changes(np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="params"):
        support_changes(S, params=[1.0, 2.0])


def test_support_change_point_matches_equality_constrained_multiplier():
    # Above the kink all three samples are active: the Q_mu max-margin equals the minimiser of
    # Q_mu on {Z w = 1}, i.e. theory.diagonal.diagonal_interpolant for the tied depth-3 model
    # with scale alpha = mu^{1/3} (its dual nu: grad Q = Z^T nu, Q a positive multiple of
    # Q^3_mu). The kink is where nu_1 (the leaving sample) crosses 0. Measured: mu_0 =
    # 0.131351246..., the bisection bracket (multiplier test) and the brentq root agree to 1e-8
    # relative (the margin test alone was off by 4e-6).
    from implicit_bias.models import Diagonal
    from implicit_bias.theory.diagonal import diagonal_interpolant

    Z3 = (YD[:, None] * XD)[:3]
    nu1 = lambda mu: float(diagonal_interpolant(Z3, np.ones(3), Diagonal(3, depth=3, scale=mu ** (1 / 3))).nu[1])  # noqa: E731
    mu0 = brentq(nu1, 0.05, 0.5, xtol=1e-15, rtol=1e-13)
    ch = support_change_points(XD, YD, 3, GRID8, rtol=1e-9)
    assert len(ch) == 1 and ch[0].removed == (1,)
    assert ch[0].after <= ch[0].before and ch[0].before / ch[0].after - 1 <= 1e-9
    np.testing.assert_allclose(ch[0].before, mu0, rtol=1e-7)
    above = q_mu_max_margin(XD, YD, mu0 * 1.01, 3)
    below = q_mu_max_margin(XD, YD, mu0 / 1.01, 3)
    assert above.multipliers[1] > 0 and above.support[1]
    assert below.multipliers[1] == 0 and (YD * (XD @ below.w))[1] > 1 + 1e-6


# ----------------------------------------------------------------------------------------
# Condition 5
# ----------------------------------------------------------------------------------------


def test_condition5_holds_uniformly_on_stable_support():
    res = condition5_holds(XB, YB, None, 2, mus=GRID8)
    assert isinstance(res, Condition5Check) and res and res.holds
    assert res.mu0 is None and res.violators == () and res.l1_l2d_stationary is None
    # rho0 from the definition: min over the path (l2 end included) of the normalised margin
    # of the non-support sample 2
    path = q_mu_path(XB, YB, GRID8, 2)
    Z = YB[:, None] * XB
    M = np.vstack([max_margin(XB, YB).w @ Z.T, path.w @ Z.T])
    np.testing.assert_allclose(res.rho0, np.min(M[:, 2] / M.min(axis=1)), rtol=1e-12)
    assert res.rho0 > 1.1
    assert condition5_holds(XB, YB, None, 3, mus=GRID8).l1_l2d_stationary is True


def test_condition5_fails_below_the_kink():
    res = condition5_holds(XD, YD, None, 3, mus=GRID8)
    assert not res and res.violators == (1,) and res.rho0 == pytest.approx(1.0)
    assert res.mu0 is not None and res.mu0 < 0.1314  # first grid point below the kink
    assert condition5_holds(XD, YD, 1.0, 3, mus=GRID7).holds  # mu above the kink
    below = condition5_holds(XD, YD, 0.01, 3, mus=GRID7)
    assert not below.holds and below.violators == (1,) and below.mu == 0.01


def test_condition5_depth3_needs_the_l1_point_to_be_l2d_stationary():
    # support stable along the path, but the l1 end is not an l_{2/3} KKT point: the uniform
    # condition cannot hold (moroshko2020 §4 after Thm 7); for D = 2 it does.
    y = np.ones(4)
    res3 = condition5_holds(XF, y, None, 3, mus=GRID8)
    assert res3.violators == () and res3.rho0 > 1 and res3.l1_l2d_stationary is False and not res3.holds
    assert condition5_holds(XF, y, None, 2, mus=GRID8).holds


def test_condition5_ratio_on_a_trajectory():
    # w_hat = the l2 max-margin of XB: sample 2 is not a support vector. The ratio is the
    # smallest normalised margin of sample 2 over the rows of W.
    Z = YB[:, None] * XB
    wh = np.asarray(max_margin(XB, YB).w)
    W = np.stack([wh, wh + np.array([0.05, 0.0, 0.0]), 2.0 * wh])
    M = W @ Z.T
    np.testing.assert_allclose(condition5_ratio(XB, YB, W, wh), np.min(M[:, 2] / M.min(axis=1)), rtol=1e-14)
    X1 = np.array([[1.0, 2.0, 0.0]] * 4)
    assert condition5_ratio(X1, np.ones(4), [[1.0, 1.0, 0.0]], [0.0, 0.5, 0.0]) == math.inf
    with pytest.raises(ValueError, match="does not separate"):
        condition5_ratio(XB, YB, np.stack([wh, -wh]), wh)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="labels -1 and \\+1"):
        excess_l1_norm(XB, np.array([1.0, 2.0, -1.0, 1.0]), [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="last dimension d = 3"):
        support_vectors(XB, YB, [1.0, 0.0])
    with pytest.raises(ValueError, match=r"y must have shape \(4,\)"):
        support_vectors(XB, YB[:3], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="mu must be finite and > 0"):
        condition5_holds(XB, YB, -1.0, 2, mus=GRID7)
    with pytest.raises(ValueError, match="not linearly separable"):
        condition5_holds(np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]]), np.array([1.0, -1.0, 1.0, 1.0]), None, 2)


def test_docstring_examples():
    result = doctest.testmod(dm, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------- first_crossing (Fig. 5b's gamma~ locator)


def test_first_crossing_hand_values():
    from implicit_bias.diagnostics.margins import first_crossing

    # values 1 -> 0.5 -> 0 at x = 1, 10, 100; level 0.25 is halfway on the second segment:
    # log10 x* = 1 + 0.5 * (2 - 1) = 1.5 (log interpolation), x* = 10 + 0.5 * 90 = 55 (linear)
    assert first_crossing([1.0, 10.0, 100.0], [1.0, 0.5, 0.0], 0.25) == pytest.approx(10**1.5, rel=1e-12)
    assert first_crossing([1.0, 10.0, 100.0], [1.0, 0.5, 0.0], 0.25, log_x=False) == pytest.approx(55.0, rel=1e-12)
    # a quarter of the way along the first segment: 1 - 0.25 * 0.5 = 0.875 -> x* = 10^0.25
    assert first_crossing([1.0, 10.0, 100.0], [1.0, 0.5, 0.0], 0.875) == pytest.approx(10**0.25, rel=1e-12)
    # only the first crossing counts (the curve comes back above the level afterwards)
    assert first_crossing([1.0, 2.0, 4.0, 8.0], [1.0, 0.0, 1.0, 0.0], 0.5) == pytest.approx(math.sqrt(2.0), rel=1e-12)
    # already below at the first point; never below; from +inf (not separating yet)
    assert first_crossing([3.0, 4.0], [0.1, 0.0], 0.5) == 3.0
    assert math.isnan(first_crossing([1.0, 2.0], [1.0, 0.9], 0.5))
    assert first_crossing([1.0, 2.0, 4.0], [np.inf, 0.2, 0.1], 0.5) == 2.0


def test_first_crossing_recovers_a_power_law():
    from implicit_bias.diagnostics.margins import first_crossing

    # excess(gamma) = 1 / gamma is linear in log gamma only piecewise; with a fine grid the
    # interpolated crossing of 0.05 approaches the exact gamma = 20
    g = np.geomspace(1.0, 1e3, 24 * 3 + 1)
    assert first_crossing(g, 1.0 / g, 0.05) == pytest.approx(20.0, rel=2e-3)


def test_first_crossing_errors():
    from implicit_bias.diagnostics.margins import first_crossing

    with pytest.raises(ValueError, match="same length"):
        first_crossing([1.0, 2.0], [1.0], 0.5)
    with pytest.raises(ValueError, match="increasing"):
        first_crossing([2.0, 1.0], [1.0, 0.0], 0.5)
    with pytest.raises(ValueError, match="> 0"):
        first_crossing([0.0, 1.0], [1.0, 0.0], 0.5)
    with pytest.raises(ValueError, match="NaN"):
        first_crossing([1.0, 2.0], [np.nan, 0.0], 0.5)
