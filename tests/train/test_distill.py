import tempfile
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from hwcompress.config import parse_flow
from hwcompress.data import SearchPath, load_splits
from hwcompress.models import build_model
from hwcompress.train import fit, predict
from hwcompress.train.distill import Distillation, distillation_loss


def test_loss_is_cross_entropy_at_alpha_one_and_zero_for_a_perfect_copy():
    student, labels = torch.randn(8, 10), torch.randint(0, 10, (8,))
    assert torch.allclose(
        distillation_loss(student, torch.randn(8, 10), labels, 1.0, 4.0), F.cross_entropy(student, labels)
    )
    assert float(distillation_loss(student, student.clone(), labels, 0.0, 4.0)) == pytest.approx(0.0, abs=1e-6)
    far = distillation_loss(student, -student, labels, 0.0, 4.0)
    assert float(far) > 0.1


def test_distillation_pulls_a_student_towards_its_teacher(tiny_flow):
    flow = parse_flow(tiny_flow(model={"hidden": [32]}, train={"epochs": 3}))
    data = load_splits(flow.data, SearchPath())
    torch.manual_seed(0)
    teacher = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    student = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    with tempfile.TemporaryDirectory() as tmp:
        fit(teacher, data, flow.train, Path(tmp) / "t.pt", "t")
        kd = Distillation(teacher, alpha=0.0, temperature=2.0)
        teacher_out = predict(teacher, data.val_x)

        def gap(model):
            return float(
                F.kl_div(
                    F.log_softmax(predict(model, data.val_x) / 2, 1),
                    F.log_softmax(teacher_out / 2, 1),
                    reduction="batchmean",
                    log_target=True,
                )
            )

        before = gap(student)
        fit(student, data, flow.train, Path(tmp) / "s.pt", "s", distillation=kd)
    assert gap(student) < before / 2
    assert all(not p.requires_grad for p in teacher.parameters()), "the teacher stays frozen"
