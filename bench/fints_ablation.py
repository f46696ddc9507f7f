"""Development protocol of the fints app (issue 8): train on one dataset, lean evaluation.

Cheaper than bench/fints_quality.py (one dataset, no figures, no baseline discriminative scores,
one classifier seed by default): the in-sample discriminative score (TimeGAN's post-hoc GRU, 2,000
steps), the copy check, in-sample pooled stylized facts of generated vs real continuations
(asset 0), the out-of-sample fact errors of ganapps and GBM, and ``ramp``: the volatility ramp
inside generated blocks (``block_vol_ramp`` of the in-sample continuations, the real ones and the
chained scenarios; first-6 and last-6 day spreads in ``ramp_first_last6``). One JSON line per
run is appended to ``--log``.

``--validate`` keeps the held-out test period out of every choice: the data are cut to the
training span (the first 80% of returns), so the app trains on the first 80% of *that* and its
out-of-sample facts are scored on the next 20% of the training span, the days just before the
test period. Settings are chosen on these numbers; bench/fints_quality.py reports the test period.

    flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/fints_ablation.py --epochs 30 --ema 0.99 \
        -o moment_weight=1 --tag ema99_m1
"""

# ruff: noqa
import argparse, json, sys, tempfile, time
from pathlib import Path
import numpy as np
from ganapps.core import run
from ganapps.core.app import Evaluation
from ganapps.plugins.fints import metrics as M
from ganapps.plugins.fints.app import FinTS

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="GOOG")
ap.add_argument("--epochs", type=int, default=40)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--ema", type=float, default=None)
ap.add_argument("--lr", type=float, default=None)
ap.add_argument("--ncritic", type=int, default=None)
ap.add_argument("--disc-repeats", type=int, default=1)
ap.add_argument("-o", action="append", default=[])
ap.add_argument("--tag", default="")
ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
ap.add_argument("--log", default="/tmp/fints_ablation.jsonl")
ap.add_argument("--validate", action="store_true", help="train and score inside the training span only")
ap.add_argument("--rolling", action="store_true", help="also the rolling-origin protocol of bench/fints_quality.py")
ap.add_argument("--save", default="", help="folder for an .npz of the in-sample windows (optional)")
a = ap.parse_args()
DATA = {
    "GOOG": ("finance/goog_daily_timegan.csv", {}),
    "GAFA": ("finance/gafa_stock_daily.csv", {"price_col": "Adj_Close"}),
}


def pooled(x, lags, f=lambda a, b: (a, b)):
    out = []
    for k in range(1, lags + 1):
        u, v = f(x[:, :-k], x[:, k:])
        u = u - u.mean()
        v = v - v.mean()
        out.append((u * v).mean() / (u.std() * v.std() + 1e-12))
    return np.array(out)


def lean_eval(self, real, synthetic, train=None):
    o, seed = self.options, self.train_config.seed
    gen = self.paths(synthetic)
    rng = np.random.default_rng(seed + 1)
    train_r = np.diff(np.log(self.tensors["prices"].numpy()), axis=0)
    realised = real.returns()
    L = min(len(realised), gen.shape[1])
    realised = realised[:L]
    res = {}
    res["oos"] = M.fact_errors(gen[:, :L], realised)
    res["oos_gbm"] = M.fact_errors(M.gbm_paths(train_r, len(gen), L, rng), realised)
    res["oos_wins"] = [f for f in M.FACTS if f in res["oos"] and res["oos"][f] < res["oos_gbm"][f]]
    past, future, cond = self._training_arrays()
    pick = rng.permutation(len(past))[: min(len(past), 1000)]
    past, future, cond = past[pick], future[pick], cond[pick]
    fake = self._continue(past, cond)
    if a.save:
        np.savez(
            f"{a.save}/{a.tag or 'run'}.npz", future=future, fake=fake, past=past, gen=gen[:, :L], realised=realised
        )
    ds = [M.discriminative_score(future, fake, steps=2000, seed=seed + k) for k in range(a.disc_repeats)]
    res["disc"] = float(np.mean(ds))
    res["disc_all"] = ds
    res.update(M.copy_check(fake, self._windows(self._scale(train_r))[1], o.horizon))
    # in-sample stats (asset 0), pooled over windows
    ins = {}
    for nm, x in (("real", future[:, :, 0]), ("fake", fake[:, :, 0])):
        ins[nm] = dict(
            acf=pooled(x, 10),
            acfabs=pooled(np.abs(x), 10),
            lev=pooled(x, 10, lambda u, v: (u, v**2)),
            kurt=float(((x - x.mean()) ** 4).mean() / x.var() ** 2 - 3),
            std=float(x.std()),
            wvol_sd=float(np.log(x.std(1)).std()),
        )
    res["ins_err"] = {k: float(np.abs(ins["real"][k] - ins["fake"][k]).mean()) for k in ins["real"]}
    res["ins"] = {nm: {k: np.round(v, 3).tolist() for k, v in d.items()} for nm, d in ins.items()}
    res["along"] = along_path(gen[:, :L], realised, o.horizon)
    # volatility by position inside a generated block: in-sample windows and the chained scenarios
    sg = self._scale(gen)
    res["ramp"] = {
        "fake": M.block_vol_ramp(fake, o.horizon),
        "real": M.block_vol_ramp(future, o.horizon),
        "scenarios": M.block_vol_ramp(sg, o.horizon),
    }
    e = min(6, o.horizon // 2)
    res["ramp_profile"] = {
        nm: [round(float(p[:e].mean()), 3), round(float(p[-e:].mean()), 3)]
        for nm, p in (
            ("fake", M.block_profile(fake, o.horizon)),
            ("real", M.block_profile(future, o.horizon)),
            ("scenarios", M.block_profile(sg, o.horizon)),
        )
    }
    g = gen[:, :L, 0]
    res["oos_gen_acf"] = np.round(M.acf(g).mean(0), 3).tolist()
    res["oos_gen_acfabs"] = np.round(M.acf(np.abs(g)).mean(0), 3).tolist()
    res["oos_gen_lev"] = np.round(M.leverage(g).mean(0), 3).tolist()
    return Evaluation(metrics=res)


def along_path(gen, real, h):
    """Facts per third of the path (does clustering/correlation drift as blocks are chained?)."""
    out = {}
    L = real.shape[0]
    for i in range(3):
        a, b = i * L // 3, (i + 1) * L // 3
        part = {}
        for nm, x in (("gen", gen[:, a:b]), ("real", real[None, a:b])):
            f = M.stylized_facts(x)
            part[nm] = {
                "vol": round(float(np.mean(f["vol"])), 5),
                "acfabs_1_5": round(float(np.mean(np.asarray(f["acf_abs_returns"])[:, :5])), 3),
                "acfabs_6_20": round(float(np.mean(np.asarray(f["acf_abs_returns"])[:, 5:])), 3),
                "lev": round(float(np.mean(f["leverage"])), 3),
            }
            if "cross_corr" in f:
                part[nm]["corr"] = round(float(np.mean(f["cross_corr"])), 3)
        out[f"third{i + 1}"] = part
    return out


FinTS.evaluate = lean_eval
if a.validate:  # cut to the training span: the app's own 80/20 split then falls inside it
    _load = FinTS.load_data

    def _train_span(self, source):
        data = _load(self, source)
        k = int(round((len(data) - 1) * 0.2))
        return data.rows(0, len(data) - k)

    FinTS.load_data = _train_span
rel, opts = DATA[a.data]
for kv in a.o:
    k, v = kv.split("=", 1)
    try:
        v = json.loads(v)
    except Exception:
        pass
    opts[k] = v
train = {"epochs": a.epochs, "seed": a.seed, "device": "cpu"}
if a.ema is not None:
    train["ema"] = a.ema
if a.lr is not None:
    train["lr"] = {"*": a.lr}
if a.ncritic is not None:
    train["n_critic"] = a.ncritic
t0 = time.time()
with tempfile.TemporaryDirectory() as tmp:
    r = run(
        "fints", str(Path(a.shared) / rel), train=train, options=opts, samples=200, out=Path(tmp) / "r", progress=False
    )
    if a.rolling:
        sys.path.insert(0, str(Path(__file__).parent))
        from fints_quality import rolling_origins

        rets = r.app.load_data(str(Path(a.shared) / rel)).returns()
        rolling = rolling_origins(r.app, rets, len(rets) - r.app.schema["eval_steps"], 200, a.seed)
m = r.metrics["metrics"]
m["train_s"] = round(r.train.seconds, 1)
m["total_s"] = round(time.time() - t0, 1)
line = {
    "tag": a.tag,
    "args": vars(a),
    "validate": a.validate,
    **{k: m[k] for k in ("disc", "nn_ratio", "copy_share", "train_s", "total_s")},
    "wins": len(m["oos_wins"]),
    "ramp": {k: round(v, 3) for k, v in m["ramp"].items()},
    "ramp_first_last6": m["ramp_profile"],
    "oos_wins": m["oos_wins"],
    "ins_err": m["ins_err"],
    "oos": {k: round(v, 5) for k, v in m["oos"].items()},
    "oos_gbm": {k: round(v, 5) for k, v in m["oos_gbm"].items()},
}
if a.rolling:
    line["rolling"] = rolling
print(json.dumps(line))
print(json.dumps({k: m[k] for k in ("ins", "oos_gen_acf", "oos_gen_acfabs", "oos_gen_lev", "disc_all", "along")}))
with open(a.log, "a") as f:
    f.write(
        json.dumps(
            {**line, "detail": {k: m[k] for k in ("ins", "oos_gen_acf", "oos_gen_acfabs", "oos_gen_lev", "along")}}
        )
        + "\n"
    )
