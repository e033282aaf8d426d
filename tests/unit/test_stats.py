"""The scipy-free t distribution, Student-t and Welch intervals, MDE and I² of transferlab.analysis.stats."""

import math
from statistics import NormalDist

import numpy as np
import pytest

from transferlab.analysis.stats import betainc, heterogeneity, mde_for, t_cdf, t_ppf, unit_interval

# two-sided 95 % (0.975) and 90 % (0.95) quantiles of Student's t, from the printed tables
T975 = {2: 4.302652729749, 4: 2.776445105198, 10: 2.228138851986}
T95_2 = 2.919985580354
Z = NormalDist()


@pytest.mark.parametrize("a, b, x", [(2.5, 1.0, 0.3), (2.5, 1.0, 0.95), (1.0, 3.5, 0.05), (1.0, 3.5, 0.9)])
def test_betainc_matches_its_closed_forms_on_both_branches_of_the_continued_fraction(a, b, x):
    want = x**a if b == 1.0 else 1.0 - (1.0 - x) ** b  # I_x(a, 1) = x^a, I_x(1, b) = 1 - (1 - x)^b
    assert betainc(a, b, x) == pytest.approx(want, rel=1e-12)
    assert betainc(a, b, 0.0) == 0.0 and betainc(a, b, 1.0) == 1.0


@pytest.mark.parametrize("x", [-7.0, -0.4, 0.0, 0.9, 3.3])
def test_t_cdf_is_cauchy_at_one_df_and_has_its_closed_form_at_two(x):
    assert t_cdf(x, 1) == pytest.approx(0.5 + math.atan(x) / math.pi, abs=1e-13)
    assert t_cdf(x, 2) == pytest.approx(0.5 + x / (2 * math.sqrt(2 + x * x)), abs=1e-13)


def test_t_ppf_matches_tables_closed_forms_and_the_large_df_expansion():
    for df, q in T975.items():
        assert t_ppf(0.975, df) == pytest.approx(q, abs=1e-9)
    assert t_ppf(0.95, 2) == pytest.approx(T95_2, abs=1e-9)
    for p in (0.6, 0.9, 0.999):
        assert t_ppf(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
        assert t_ppf(1 - p, 1) == -t_ppf(p, 1)  # symmetric about 0
    z = Z.inv_cdf(0.975)  # Cornish-Fisher: t = z + (z³ + z) / 4ν + O(ν⁻²)
    assert t_ppf(0.975, 1e6) == pytest.approx(z + (z**3 + z) / 4e6, abs=1e-9)
    for p in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="0 < p < 1"):
            t_ppf(p, 3)


def test_one_group_is_the_student_t_interval_with_n_minus_one_df():
    x = np.array([0.12, 0.31, 0.20])
    m, sd = x.mean(), x.std(ddof=1)
    iv = unit_interval([x])
    assert (iv.value, iv.df, iv.se) == pytest.approx((m, 2, sd / math.sqrt(3)))
    assert (iv.low, iv.high) == pytest.approx((m - T975[2] * sd / 3**0.5, m + T975[2] * sd / 3**0.5), abs=1e-12)
    ninety = unit_interval([x], level=0.90)
    assert ninety.high - ninety.value == pytest.approx(T95_2 * sd / 3**0.5, abs=1e-12)
    # NaN units are left out, not counted as values
    assert unit_interval([[0.12, np.nan, 0.31, 0.20]]) == iv


def test_welch_difference_is_first_minus_second_with_satterthwaite_df():
    a, b = [5.0, 6.0, 7.0], [1.0, 2.0, 3.0]  # equal n and variance: Welch's df is the pooled 2 (n − 1) = 4
    iv = unit_interval([a, b])
    assert (iv.value, iv.df, iv.se) == pytest.approx((4.0, 4.0, math.sqrt(2 / 3)))
    assert iv.low == pytest.approx(4.0 - T975[4] * math.sqrt(2 / 3), abs=1e-9)
    back = unit_interval([b, a])
    assert (back.value, back.low, back.high) == pytest.approx((-iv.value, -iv.high, -iv.low))
    u, v = np.array([0.0, 1.0, 2.0, 3.0]), np.array([10.0, 20.0])  # unequal: df by hand
    pu, pv = u.var(ddof=1) / 4, v.var(ddof=1) / 2
    iv = unit_interval([u, v])
    assert iv.df == pytest.approx((pu + pv) ** 2 / (pu**2 / 3 + pv**2 / 1))
    assert 1 < iv.df < 2 and iv.value == pytest.approx(1.5 - 15.0)


def test_degenerate_groups():
    same = unit_interval([[0.3, 0.3, 0.3]])  # no spread: a zero-width interval, not NaN
    assert (same.low, same.high, same.se, same.df) == pytest.approx((0.3, 0.3, 0.0, 2.0))
    assert unit_interval([[1.0, 1.0], [0.5, 0.5, 0.5]]).df == 3.0  # Welch's 0/0 falls back to the pooled df
    one = unit_interval([[0.4, np.nan]])  # one value: the estimate, no interval
    assert one.value == 0.4 and all(math.isnan(v) for v in (one.low, one.high, one.se, one.df, one.mde))
    assert math.isnan(unit_interval([[0.4, 0.5], [np.nan]]).value)


def test_mde_is_the_80_percent_power_effect_and_agrees_with_the_interval():
    x = np.array([0.1, 0.4, 0.2, 0.6, 0.3])
    assert unit_interval([x]).mde == pytest.approx(mde_for(x.std(ddof=1), 5))
    big = 10**8  # near-normal: an effect of mde is seen by a two-sided 5 % z test in 80 % of runs
    power = 1 - Z.cdf(Z.inv_cdf(0.975) - mde_for(1.0, big) * math.sqrt(big))
    assert power == pytest.approx(0.80, abs=1e-4)
    assert math.isnan(mde_for(1.0, 1))


def test_heterogeneity_has_its_closed_form():
    # one group [0, 2] with image SE 1: SD √2, Q = 2 on 1 df, I² = 1/2; a second group's own mean is removed
    assert heterogeneity([[0.0, 2.0]], [[1.0, 1.0]]) == pytest.approx((math.sqrt(2), 0.5))
    assert heterogeneity([[0.0, 2.0], [10.0, 12.0]], [[1.0, 1.0], [1.0, 1.0]]) == pytest.approx((math.sqrt(2), 0.5))
    assert heterogeneity([[0.0, 2.0]], [[5.0, 5.0]])[1] == 0.0  # image noise explains it all: Q < df
    assert math.isnan(heterogeneity([[0.0, 2.0]], [[0.0, 1.0]])[1])  # an SE of 0 gives no Q
    assert all(math.isnan(v) for v in heterogeneity([[1.0], [2.0, np.nan]], [[1.0], [1.0, 1.0]]))


def test_t_ppf_at_an_infinite_or_huge_df_is_the_normal_quantile():
    z = NormalDist().inv_cdf(0.975)
    for df in (math.inf, 1e10, 1e12):
        assert t_ppf(0.975, df) == pytest.approx(z, abs=1e-9), df
    assert t_ppf(0.025, math.inf) == pytest.approx(-z, abs=1e-9)
