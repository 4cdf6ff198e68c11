"""benchmarks.config (typed configs from dicts) and benchmarks.grid (TOML grid expansion)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from benchmarks.config import build_config, config_hash, flatten, merge, set_dotted
from benchmarks.errors import UserError
from benchmarks.grid import load_grid
from benchmarks.tasks.covid import CovidConfig


@dataclass
class Inner:
    n: int = 1
    x: float = 0.5
    flag: bool = False
    tags: list[str] = field(default_factory=list)
    day: str | None = None


@dataclass
class Outer:
    name: str = "a"
    inner: Inner = field(default_factory=Inner)


# ---------------------------------------------------------------- build_config


def test_defaults_and_nested_values():
    cfg = build_config(Outer, {"inner": {"n": 3, "x": 2, "tags": ["p", "q"]}})
    assert cfg == Outer(name="a", inner=Inner(n=3, x=2.0, tags=["p", "q"]))
    assert isinstance(cfg.inner.x, float)  # an int is accepted for a float, as a float
    assert build_config(Outer, {}) == Outer()


def test_toml_date_becomes_iso_string():
    cfg = build_config(Outer, {"inner": {"day": date(2020, 3, 1)}})
    assert cfg.inner.day == "2020-03-01"
    assert build_config(Outer, {"inner": {"day": None}}).inner.day is None


def test_unknown_keys_are_rejected_with_valid_ones():
    with pytest.raises(UserError) as err:
        build_config(Outer, {"nmae": "b"})
    assert str(err.value) == "config: unknown key(s) nmae; valid: name, inner"
    with pytest.raises(UserError) as err:
        build_config(Outer, {"inner": {"m": 1, "k": 2}}, where="grid.toml")
    assert str(err.value) == ("grid.toml.inner: unknown key(s) k, m; "
                              "valid: n, x, flag, tags, day")


@pytest.mark.parametrize(("values", "message"), [
    ({"inner": {"n": "3"}}, "inner.n: expected a whole number, got '3'"),
    ({"inner": {"n": 2.0}}, "inner.n: expected a whole number, got 2.0"),
    ({"inner": {"n": True}}, "inner.n: expected a whole number, got True"),
    ({"inner": {"x": "0.1"}}, "inner.x: expected a number, got '0.1'"),
    ({"inner": {"x": False}}, "inner.x: expected a number, got False"),
    ({"inner": {"flag": 1}}, "inner.flag: expected true or false, got 1"),
    ({"inner": {"tags": "p"}}, "inner.tags: expected a list, got 'p'"),
    ({"inner": {"tags": ["p", 1]}}, "inner.tags[1]: expected a string, got 1"),
    ({"inner": {"day": 5}}, "inner.day: 5 is not a valid value"),
    ({"name": 7}, "name: expected a string, got 7"),
    ({"inner": 3}, "inner must be a table of settings, got 3"),
])
def test_type_errors_name_the_key(values, message):
    with pytest.raises(UserError) as err:
        build_config(Outer, values)
    assert message in str(err.value)


def test_covid_config_resolves_and_flattens():
    cfg = build_config(CovidConfig, {"data": {"window": 7}, "model": {"name": "gru"}})
    flat = flatten(cfg)
    assert flat["data.window"] == 7 and flat["model.name"] == "gru"
    assert flat["model.hidden_size"] == 2 and flat["train.lr"] == 0.01  # study defaults
    assert all("." in key for key in flat)
    with pytest.raises(UserError, match=r"^data: unknown key\(s\) windw; valid: path, "):
        build_config(CovidConfig, {"data": {"windw": 7}})


def test_set_dotted_and_merge():
    tree: dict = {"a": {"b": 1}}
    set_dotted(tree, "a.c.d", 2)
    assert tree == {"a": {"b": 1, "c": {"d": 2}}}
    with pytest.raises(UserError, match="'b' is a value, not a table"):
        set_dotted(tree, "a.b.e", 3)
    base = {"x": {"y": 1, "z": 2}, "w": 0}
    assert merge(base, {"x": {"y": 5}}) == {"x": {"y": 5, "z": 2}, "w": 0}
    assert base == {"x": {"y": 1, "z": 2}, "w": 0}  # not mutated


def test_config_hash_identity():
    a = build_config(CovidConfig, {"data": {"window": 7}})
    b = build_config(CovidConfig, {"data": {"window": 7}})
    c = build_config(CovidConfig, {"data": {"window": 8}})
    same_as_default = build_config(CovidConfig, {"data": {"window": 5}})
    assert config_hash("covid", a) == config_hash("covid", b)
    assert len(config_hash("covid", a)) == 16
    assert config_hash("covid", a) != config_hash("covid", c)
    assert config_hash("covid", a) != config_hash("faces", a)
    assert config_hash("covid", same_as_default) == config_hash("covid", CovidConfig())
    one = build_config(CovidConfig, {"train": {"lr": 1}})  # int for a float: same config
    assert config_hash("covid", one) == config_hash("covid", build_config(
        CovidConfig, {"train": {"lr": 1.0}}))


# ---------------------------------------------------------------- grid files

GRID = """
experiment = "t"
[[study]]
task = "covid"
seeds = [0, 1]
[study.config.train]
epochs = 3
[study.sweep]
"model.name" = ["rnn", "lstm", "gru"]
"data.window" = [5, 7]
"""


def _grid(tmp_path, text: str, **overrides):
    path = tmp_path / "g.toml"
    path.write_text(text, encoding="utf-8")
    return load_grid(path, overrides or None)


def test_sweep_expands_to_product_times_seeds(tmp_path):
    grid = _grid(tmp_path, GRID)
    assert grid.experiment == "t" and grid.source.startswith("\nexperiment")
    assert len(grid.cells) == 3 * 2 * 2
    assert len({c.config_hash for c in grid.cells}) == 12
    assert len({c.label for c in grid.cells}) == 12
    combos = {(c.config.model.name, c.config.data.window, c.config.train.seed)
              for c in grid.cells}
    assert combos == {(m, w, s) for m in ("rnn", "lstm", "gru") for w in (5, 7) for s in (0, 1)}
    assert all(c.config.train.epochs == 3 and c.task == "covid" for c in grid.cells)
    assert grid.cells[0].label == "covid name=rnn window=5 seed=0"


def test_no_sweep_gives_one_cell_per_seed(tmp_path):
    grid = _grid(tmp_path, 'experiment = "t"\n[[study]]\ntask = "covid"\n')
    assert len(grid.cells) == 1 and grid.cells[0].config == CovidConfig()


def test_group_hash_ignores_only_the_seed(tmp_path):
    cells = _grid(tmp_path, GRID).cells
    groups: dict[str, set] = {}
    for c in cells:
        groups.setdefault(c.group_hash, set()).add((c.config.model.name, c.config.data.window))
    assert len(groups) == 6 and all(len(v) == 1 for v in groups.values())
    assert all(c.group_hash != c.config_hash for c in cells)


def test_same_grid_twice_gives_same_hashes(tmp_path):
    first = [c.config_hash for c in _grid(tmp_path, GRID).cells]
    assert first == [c.config_hash for c in _grid(tmp_path, GRID).cells]


def test_overrides_apply_to_every_cell(tmp_path):
    grid = _grid(tmp_path, GRID, **{"train.epochs": 9, "data.scaling": "log1p"})
    assert len(grid.cells) == 12
    assert all(c.config.train.epochs == 9 for c in grid.cells)
    assert all(c.config.data.scaling == "log1p" for c in grid.cells)


def test_override_of_a_swept_key_wins(tmp_path):
    """``--set data.window=9`` means window 9 in every cell, not a silently ignored flag."""
    grid = _grid(tmp_path, GRID, **{"data.window": 9})
    assert {c.config.data.window for c in grid.cells} == {9}
    assert len(grid.cells) == 3 * 2  # the window sweep collapses to one value
    assert len({c.config_hash for c in grid.cells}) == 6


def test_unknown_override_key_is_rejected(tmp_path):
    with pytest.raises(UserError, match=r"config.train: unknown key\(s\) epoch; valid: epochs"):
        _grid(tmp_path, GRID, **{"train.epoch": 9})


def _grid_error(tmp_path, text: str) -> str:
    with pytest.raises(UserError) as err:
        _grid(tmp_path, text)
    message = str(err.value)
    assert message.startswith(str(tmp_path / "g.toml")) and "\n" not in message
    return message


STUDY = 'experiment = "t"\n[[study]]\ntask = "covid"\n'


@pytest.mark.parametrize(("text", "message"), [
    ("experiment = \n", "not valid TOML"),
    ('experiment = "t"\nstudies = []\n', "unknown top-level key(s) studies; valid: "
                                          "description, experiment, study"),
    ('[[study]]\ntask = "covid"\n', "'experiment' (the MLflow experiment name) is required"),
    ('experiment = "t"\n', "needs at least one [[study]] table"),
    ('experiment = "t"\nstudy = "covid"\n', "needs at least one [[study]] table"),
    ('experiment = "t"\n[[study]]\nseeds = [0]\n', "study 1: 'task' is required"),
    ('experiment = "t"\n[[study]]\ntask = "weather"\n',
     "unknown task 'weather'; valid tasks: covid"),
    (STUDY + "taks = 1\n", "study 1: unknown key(s) taks; valid: config, seeds, sweep, task"),
    (STUDY + "seeds = []\n", "'seeds' must be a non-empty list of whole numbers"),
    (STUDY + 'seeds = ["a"]\n', "'seeds' must be a non-empty list of whole numbers"),
    (STUDY + "seeds = 3\n", "'seeds' must be a non-empty list of whole numbers"),
    (STUDY + '[study.sweep]\n"data.window" = []\n', "sweep 'data.window' must be a non-empty"),
    (STUDY + '[study.sweep]\n"data.window" = 5\n', "sweep 'data.window' must be a non-empty"),
    (STUDY + "sweep = 5\n", "'sweep' must be a table"),
    ('experiment = "t"\nstudy = [1]\n', "study 1 must be a table"),
    (STUDY + "[study.config.data]\nwindw = 5\n",
     "study 1 config.data: unknown key(s) windw; valid: path, start"),
    (STUDY + "[study.config.train]\nlr = \"fast\"\n",
     "config.train.lr: expected a number, got 'fast'"),
    (STUDY + '[study.sweep]\n"model.name" = ["lstm", "transformer"]\n',
     "unknown model 'transformer'"),
    (STUDY + '[study.config.train]\noptimizer = "adamw"\n',
     "unknown optimizer 'adamw' (train.optimizer); valid: adam, sgd"),
])
def test_bad_grids(tmp_path, text, message):
    assert message in _grid_error(tmp_path, text)


def test_unknown_model_error_lists_valid_models(tmp_path):
    message = _grid_error(tmp_path, STUDY + '[study.config.model]\nname = "transformer"\n')
    valid = message.split("valid models: ")[1].split(", ")
    assert {"rnn", "lstm", "gru", "vae_fc", "vae_conv"} <= set(valid)


def test_missing_grid_file(tmp_path):
    with pytest.raises(UserError, match=r"nope.toml: no such grid file"):
        load_grid(tmp_path / "nope.toml")


def test_shipped_grids_load(repo_root):
    for path in sorted((repo_root / "benchmarks" / "grids").glob("*.toml")):
        grid = load_grid(path)
        assert grid.cells, path
