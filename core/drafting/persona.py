"""How an account writes: its persona, stored on the account, with the price list its PPV
offers are priced from."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.drafting.fan import SpendTier

# Platforms take PPV prices in a range like this one (the sandbox: $1 to $1,000).
PPV_MIN_CENTS = 100
PPV_MAX_CENTS = 100_000


def _price(default: int, who: str) -> Any:
    """A price field of the price list (pydantic's `Field`, untyped)."""
    return Field(
        default=default,
        ge=PPV_MIN_CENTS,
        le=PPV_MAX_CENTS,
        description=f"PPV price in cents offered to {who}.",
    )


class PriceList(BaseModel):
    """What a PPV offer costs, in cents, by the fan's spend tier (`core.drafting.fan`):
    the agency's usual ladder, a low first price to win a first purchase, more for fans
    who have shown they pay. Prices never fall as the tier rises."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    none: int = _price(1_000, "fans who have bought nothing yet")
    low: int = _price(1_500, "fans who have spent under $50")
    mid: int = _price(2_500, "fans who have spent $50 to $500")
    top: int = _price(4_000, "fans who have spent $500 or more")

    @model_validator(mode="after")
    def _rising(self) -> PriceList:
        prices = [(tier, self.for_tier(tier)) for tier in SpendTier]
        for (lower, low_price), (higher, high_price) in zip(prices, prices[1:], strict=False):
            if high_price < low_price:
                raise ValueError(
                    f"the {higher.value} price ({high_price}) is below the {lower.value} "
                    f"price ({low_price}); prices must not fall as the tier rises"
                )
        return self

    def for_tier(self, tier: SpendTier) -> int:
        """The price, in cents, of a PPV offered to a fan of `tier`."""
        return int(getattr(self, tier.value))


class Persona(BaseModel):
    """How an account writes. Stored as JSON on the account; every field has a default."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    name: str = Field(default="", max_length=100, description="Display name used in replies.")
    tone: Literal["warm", "playful", "flirty", "professional"] = "warm"
    emoji_style: Literal["none", "some", "lots"] = "some"
    emojis: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(
        default_factory=lambda: ["😊", "💕", "✨"], max_length=20
    )
    phrases: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=20
    )
    forbidden_words: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=200
    )
    ppv_prices: PriceList = Field(
        default_factory=PriceList,
        description="PPV prices in cents per fan spend tier; a ppv_offer suggests its fan's.",
    )
