"""The persona's price list: defaults by spend tier, and prices that never fall as the tier
rises."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.drafting.fan import SpendTier
from core.drafting.persona import Persona, PriceList


def test_price_list_defaults_and_validation() -> None:
    assert [PriceList().for_tier(tier) for tier in SpendTier] == [1_000, 1_500, 2_500, 4_000]
    assert Persona.model_validate({}).ppv_prices == PriceList()
    with pytest.raises(ValidationError, match="the top price .3000. is below the mid price"):
        PriceList(mid=5_000, top=3_000)
    for bad in ({"none": 99}, {"top": 100_001}, {"vip": 9_000}, {"low": "cheap"}):
        with pytest.raises(ValidationError):
            PriceList.model_validate(bad)
