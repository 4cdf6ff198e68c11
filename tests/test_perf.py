"""``perf``'s parts: FLOP counts by hand, the table writer, and cheap measurements end to end.

No timing is asserted here (speed targets live in the ``perf`` printout); ``perf --quick``
itself takes minutes and is not run by the tests.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import models  # noqa: F401  (registers the models)
from benchmarks.perf import add_perf_parser, cmd_perf
from benchmarks.perf_common import NullTracker, StepClock, torch_threads
from benchmarks.perf_flops import count_flops
from benchmarks.perf_system import (
    matmul_gflops,
    measure_windows,
    peak_rss_of,
    relu_then_pool,
)
from benchmarks.perf_table import Row, Target, to_csv, to_markdown, to_text, write_tables
from benchmarks.perf_train import capture_training, covid_config
from benchmarks.tasks import covid
from benchmarks.training import loop
from models.registry import build_model


def _tiny() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(2, 3, kernel_size=3, padding=1),  # 2x4x4 -> 3x4x4
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(48, 5),
    )


def test_flops_of_tiny_conv_linear_model_by_hand():
    # conv: 3*4*4 = 48 outputs, each 2 in-channels x 3x3 = 18 multiply-adds -> 864 MACs
    # linear: 48 x 5 = 240 MACs; per image 1,104 MACs = 2,208 FLOPs; batch of 2 -> 4,416
    count = count_flops(_tiny(), torch.rand(2, 2, 4, 4))
    assert count.forward == 4_416
    assert [flops for _, flops in count.layers] == [2 * 2 * 864, 2 * 2 * 240]
    assert [name for name, _ in count.layers] == ["0", "3"]
    assert count.train_step == 3 * 4_416


def test_flops_of_strided_and_transposed_convolutions_by_hand():
    model = nn.Sequential(
        nn.Conv2d(3, 4, kernel_size=3, stride=2, padding=1),  # 3x8x8 -> 4x4x4: 64 x 27 MACs
        nn.ConvTranspose2d(4, 2, kernel_size=4, stride=2, padding=1),  # 64 inputs x 2*16
    )
    count = count_flops(model, torch.rand(1, 3, 8, 8))
    assert count.forward == 2 * (64 * 27) + 2 * (64 * 32)
    with FlopCounterMode(display=False) as reference:
        model(torch.rand(1, 3, 8, 8))
    assert count.forward == reference.get_total_flops()


def test_flops_of_the_original_vae_by_hand():
    # per image: conv1 64*64*64 outputs x 27 + conv2 128*16*16 x 576
    # + 2 heads (8192*256 + 256*100 + 100*32) + decoder (32*128 + 128*512 + 512*1024
    # + 1024*12288) = 7,077,888 + 18,874,368 + 4,251,904 + 13,176,832 MACs
    model = build_model("vae_fc")
    count = count_flops(model, torch.rand(2, 3, 64, 64))
    assert count.forward == 2 * 2 * 43_380_992
    assert model.training  # the counter restores the mode it found


def test_encoder_pool_then_relu_equals_the_original_order_exactly():
    torch.manual_seed(0)
    model = build_model("vae_fc", image_size=16, latent_dim=4)
    original = relu_then_pool(model.encoder)
    x = torch.randn(4, 3, 16, 16).contiguous(memory_format=torch.channels_last)
    out_new, out_old = model.encoder(x), original(x)
    assert torch.equal(out_new, out_old)
    weight = model.encoder[0].weight
    (grad_new,) = torch.autograd.grad(out_new.square().sum(), weight)
    (grad_old,) = torch.autograd.grad(out_old.square().sum(), weight)
    assert torch.equal(grad_new, grad_old)
    layers = {key.split(".")[1] for key in model.state_dict() if key.startswith("encoder.")}
    assert layers == {"0", "1", "4", "5"}  # the original checkpoints' keys


def _rows() -> list[Row]:
    return [
        Row("1 trainer", "COVID fit vs minimal", "9,000 windows/s", "10,000 windows/s", 0.9,
            Target(">=", 0.9, ">= 0.90 x minimal"), "1", 1.5, "median of 3"),
        Row("2 tracking", "whole cell", "11 s on", "10 s off", 0.1234,
            Target("<=", 0.10, "<= 0.10 extra"), "1", 1.5),
        Row("5 ceiling", "matmul, a | pipe", "50.0 GFLOP/s", "", 50.0, None, "2", 0.5),
        Row("6 memory", "faces run", load=2.0, error="exit 1: boom"),
    ]


def test_table_has_every_row_and_target_in_csv_and_markdown(tmp_path):
    rows, meta = _rows(), {"mode": "quick", "load average (1 min)": "1.50 at start"}
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert [r["measurement"] for r in parsed] == [r.measurement for r in rows]
    assert [r["target"] for r in parsed] == [">= 0.90 x minimal", "<= 0.10 extra", "", ""]
    assert [r["met"] for r in parsed] == ["yes", "NO", "-", "ERROR"]
    assert parsed[1]["value"] == "0.123" and parsed[2]["value"] == "50.0"
    assert parsed[3]["note"] == "error: exit 1: boom"

    markdown = to_markdown(rows, meta)
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table) == 2 + len(rows)  # header, rule, one line per row
    for row in rows:
        assert any(row.section in line and (row.target is None or row.target.text in line)
                   for line in table[2:])
    assert "matmul, a \\| pipe" in markdown and "- load average (1 min): 1.50 at start" in markdown

    text = to_text(rows, meta)
    assert "load average (1 min): 1.50 at start" in text and "<= 0.10 extra" in text

    written = write_tables(rows, meta, tmp_path / "perf", "perf_quick")
    assert [p.name for p in written] == ["perf_quick.csv", "perf_quick.md"]
    assert written[0].read_text() == to_csv(rows)


def test_targets_compare_both_ways():
    assert Target(">=", 0.9, "").met(0.9) and not Target(">=", 0.9, "").met(0.89)
    assert Target("<", 2.0, "").met(1.99) and not Target("<", 2.0, "").met(2.0)


def test_perf_subcommand_is_registered_with_its_flags():
    parser = argparse.ArgumentParser()
    add_perf_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["perf"])
    assert (args.quick, args.out, args.func) == (False, "reports/perf", cmd_perf)
    assert parser.parse_args(["perf", "--quick", "--out", "x"]).quick


def test_windows_measurement_end_to_end(data_dir):
    rows = measure_windows(data_dir, repeats=1, window=28)
    assert [r.section for r in rows] == ["3 data path", "3 data path"]
    assert all(r.value > 0 and not r.error for r in rows)
    assert "223,914 windows" in rows[1].note  # 201 countries x (1142 days - 28)
    assert matmul_gflops(32, threads=1, warmup=0, repeats=1) > 0


def test_capture_training_runs_the_cells_own_step_and_restores_fit(data_dir):
    config = covid_config(epochs=1)
    data = covid.load_data(config, data_dir)
    training = capture_training(covid, config, data)
    assert covid.fit is loop.fit
    before = [p.detach().clone() for p in training.model.parameters()]
    clock = StepClock()
    with torch_threads(1):  # as the cell: a net this small only loses time syncing threads
        assert training.run_epoch(clock) > 0
    n_batches = -(-len(data.train.y) // config.train.batch_size)
    assert len(clock.epochs) == 1 and len(clock.epochs[0]) == 1 + n_batches
    assert len(clock.step_seconds(len(data.train.y), 64)) == n_batches - 1  # partial last
    assert any(not torch.equal(a, b) for a, b in zip(before, training.model.parameters()))


def test_null_tracker_has_every_method_a_cell_calls():
    tracker = NullTracker()
    for name in ("log_metrics", "log_figure", "log_bytes", "log_text", "log_image",
                 "log_model_state", "flush"):
        assert callable(getattr(tracker, name))


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in kilobytes")
def test_child_peak_memory_is_the_childs_own_not_ours(tmp_path):
    ballast = torch.ones(300 * 2**20 // 4)  # this process: >= 300 MB more resident
    code = "import numpy as np; a = np.ones(80 * 2**20 // 8); print(a.sum())"
    status, small = peak_rss_of([sys.executable, "-c", "pass"], dict(os.environ), tmp_path,
                                tmp_path / "small.txt")
    status_big, big = peak_rss_of([sys.executable, "-c", code], dict(os.environ), tmp_path,
                                  tmp_path / "big.txt")
    assert status == status_big == 0
    assert small < 100 * 2**20  # not this process's size
    assert 80 * 2**20 <= big < 300 * 2**20
    assert ballast.sum() > 0
