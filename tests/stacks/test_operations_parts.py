"""Which operations part holds each dashboard page and each stackless model's alarms (no synth)."""

import pytest

from stacks.operations_parts import (
    MODELS_PER_DASHBOARD,
    STACKLESS_MODELS_PER_PART,
    alarm_shares,
    operations_parts,
)


def labels(count: int, stem: str = "chat") -> list[str]:
    return [f"{stem}-{number:04}" for number in range(count)]


def test_an_empty_config_has_one_part_with_the_api_page_alone():
    (part,) = operations_parts([], [])
    assert (part.number, part.page, part.alarms) == (1, [], [])


def test_pages_follow_the_configs_order_and_a_part_holds_one_page():
    models = labels(2 * MODELS_PER_DASHBOARD + 1)
    parts = operations_parts(models, [])
    assert [part.number for part in parts] == [1, 2, 3]
    assert [len(part.page) for part in parts] == [MODELS_PER_DASHBOARD, MODELS_PER_DASHBOARD, 1]
    assert [label for part in parts for label in part.page] == models
    assert all(part.alarms == [] for part in parts)


def test_stackless_models_alarms_are_shared_out_and_parts_past_the_pages_hold_alarms_alone():
    stackless = labels(3 * STACKLESS_MODELS_PER_PART + 1)  # four shares, all on one page's worth of models
    models = stackless[:10]
    parts = operations_parts(models, stackless)
    assert len(parts) == 4
    assert parts[0].page == models and all(part.page == [] for part in parts[1:])
    held = [label for part in parts for label in part.alarms]
    assert sorted(held) == sorted(stackless)  # each model's alarms in exactly one part
    assert all(part.alarms for part in parts)


@pytest.mark.parametrize("count", [51, 160, 551, 3000])
def test_no_share_is_far_above_its_target(count):
    # The limits leave room for ~160 Bedrock models' alarms beside a full page; a share stays far below.
    shares = alarm_shares(labels(count, "bedrock"))
    assert len(shares) == -(-count // STACKLESS_MODELS_PER_PART)
    assert max(len(share) for share in shares) <= 1.5 * STACKLESS_MODELS_PER_PART


def share_of(shares: list[list[str]]) -> dict[str, int]:
    return {label: number for number, share in enumerate(shares) for label in share}


def test_adding_or_removing_a_model_moves_no_other_models_alarms():
    before = labels(120)
    placed = share_of(alarm_shares(before))
    # One inserted near the top, or one removed there: still three shares, as before.
    for after in ([*before[:7], "inserted", *before[7:]], before[:7] + before[8:]):
        moved = share_of(alarm_shares(after))
        assert max(moved.values()) == 2
        assert all(moved[label] == placed[label] for label in moved if label != "inserted")


def test_a_new_share_takes_alarms_only_into_itself():
    # From n to n + 1 shares (the part deployed last), never between the parts already deployed.
    for count in range(1, 21):
        size = count * STACKLESS_MODELS_PER_PART
        before, after = share_of(alarm_shares(labels(size))), share_of(alarm_shares(labels(size + 1)))
        assert max(after.values()) == count
        assert all(after[label] in (share, count) for label, share in before.items()), count
