"""Reference values of the BG/NBD at extreme parameters, for tests/clv_extreme.rs.

Run with mpmath 1.4 (60 significant digits):
    python make_bgnbd_extreme.py

Writes bgnbd_extreme.json beside this script. For each case (r, alpha, a, b, t, x, t_x, T):
- `alive`: the expected purchases in the next t given alive at T, by two independent routes
  where both apply (asserted to agree to 1e-18 here):
  * `hyp2f1`: Fader, Hardie & Lee (2005) eq. 10's numerator with mpmath.hyp2f1,
    (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))];
  * `quad`: the definition E_p[(1 - (1 + p t/(alpha+T))^-(r+x)) / p], p ~ Beta(a, b+x), by
    mpmath.quad, with the size-biasing identity E[g(p)] = g(0) + a/(a+B) E_{Beta(a+1,B)}[(g(p)-g(0))/p]
    so that the integrand has no endpoint singularity at p = 0;
- `expected`: E[Y(t) | x, t_x, T] = alive / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x));
- `prob_alive`: 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x));
- `log_likelihood`: the customer's log-likelihood from log-gamma functions at 60 digits.
"""
import json
import os

import mpmath as mp

mp.mp.dps = 60

CASES = [
    # name, r, alpha, a, b, t, x, t_x, T
    ("cdnow", 0.243, 4.414, 0.793, 2.426, 39.0, 2.0, 30.43, 38.86),
    ("cdnow_new", 0.243, 4.414, 0.793, 2.426, 39.0, 0.0, 0.0, 0.0),
    ("large_ab_constant_dropout", 0.5, 20.0, 2e7, 8e7, 30.0, 3.0, 20.0, 25.0),
    ("large_ab_new", 0.5, 20.0, 2e7, 8e7, 91.0, 0.0, 0.0, 10.0),
    ("ab_at_upper_bound", 0.9, 35.0, 1e8, 1e8, 120.0, 5.0, 60.0, 90.0),
    ("no_dropout_a_small_b_large", 0.7, 40.0, 1e-8, 1e8, 365.0, 4.0, 200.0, 300.0),
    ("a_small", 0.7, 40.0, 1e-8, 0.5, 365.0, 1.0, 3.0, 300.0),
    ("a_plus_b_below_one", 0.5, 5.0, 0.2, 0.3, 5.0, 0.0, 0.0, 0.0),
    ("a_below_one_b_small", 0.3, 12.0, 0.05, 1e-8, 60.0, 0.0, 0.0, 5.0),
    ("a_large_b_small", 0.3, 12.0, 1e8, 1e-8, 60.0, 0.0, 0.0, 5.0),
    ("poisson_limit_r_alpha_large", 1e8, 2e9, 0.8, 3.0, 91.0, 6.0, 80.0, 100.0),
    ("r_tiny_alpha_small_new", 1e-8, 0.01, 0.6, 2.0, 365.0, 0.0, 0.0, 0.0),
    ("alpha_small_age_one", 0.4, 0.01, 0.6, 2.0, 365.0, 1.0, 1.0, 1.0),
    ("many_purchases", 0.8, 70.0, 0.05, 3.0, 365.0, 150.0, 300.0, 360.0),
    ("a_near_one", 0.5, 5.0, 1.0 + 1e-9, 3.0, 20.0, 3.0, 10.0, 15.0),
    ("the_failure_z_0_2247", 0.35, 8.0, 3e7, 1e8, 30.4375, 0.0, 0.0, 97.0),
]


def alive_hyp(r, al, a, b, t, x, T):
    r, al, a, b, t, x, T = map(mp.mpf, (r, al, a, b, t, x, T))
    z = t / (al + T + t)
    c = a + b + x - 1
    return c / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x, c, z))


def alive_quad(r, al, a, b, t, x, T):
    r, al, a, b, t, x, T = map(mp.mpf, (r, al, a, b, t, x, T))
    s, u, B = r + x, t / (al + T), b + x

    def g(p):
        return -mp.expm1(-s * mp.log1p(p * u)) / p

    g0 = s * u
    a1 = a + 1
    lnorm = mp.loggamma(a1 + B) - mp.loggamma(a1) - mp.loggamma(B)

    def h(p):
        if p == 0:
            return mp.mpf(0)
        return (g(p) - g0) / p * mp.exp(lnorm + a * mp.log(p) + (B - 1) * mp.log1p(-p))

    integral = mp.quad(h, [0, mp.mpf(1) / 4, mp.mpf(1) / 2, mp.mpf(3) / 4, 1])
    return g0 + a / (a + B) * integral


def odds(r, al, a, b, x, tx, T):
    if x == 0:
        return mp.mpf(0)
    r, al, a, b, x, tx, T = map(mp.mpf, (r, al, a, b, x, tx, T))
    return a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x)


def loglik(r, al, a, b, x, tx, T):
    r, al, a, b, x, tx, T = map(mp.mpf, (r, al, a, b, x, tx, T))
    lb = lambda p, q: mp.loggamma(p) + mp.loggamma(q) - mp.loggamma(p + q)
    common = mp.loggamma(r + x) - mp.loggamma(r) + r * mp.log(al)
    l1 = mp.exp(lb(a, b + x) - lb(a, b) + common - (r + x) * mp.log(al + T))
    l2 = 0
    if x > 0:
        l2 = mp.exp(lb(a + 1, b + x - 1) - lb(a, b) + common - (r + x) * mp.log(al + tx))
    return mp.log(l1 + l2)


out = []
for name, r, al, a, b, t, x, tx, T in CASES:
    row = dict(name=name, r=r, alpha=al, a=a, b=b, t=t, x=x, t_x=tx, age=T)
    routes = {}
    routes["hyp2f1"] = alive_hyp(r, al, a, b, t, x, T)
    if max(a, b + x) < 1e3 and b + x > 0.1:  # quad cannot resolve a Beta spike at p = 1
        routes["quad"] = alive_quad(r, al, a, b, t, x, T)
    vals = list(routes.values())
    for v in vals[1:]:
        assert abs(v - vals[0]) <= mp.mpf("1e-18") * abs(vals[0]), (name, routes)
    alive = vals[-1] if "quad" in routes else vals[0]
    o = odds(r, al, a, b, x, tx, T)
    row["routes"] = sorted(routes)
    row["alive"] = float(alive)
    row["expected"] = float(alive / (1 + o))
    row["prob_alive"] = float(1 / (1 + o))
    row["log_likelihood"] = float(loglik(r, al, a, b, x, tx, T))
    print(name, row["routes"], mp.nstr(alive, 20), row["prob_alive"], row["log_likelihood"])
    out.append(row)

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "bgnbd_extreme.json"), "w") as f:
    json.dump(out, f, indent=1)
