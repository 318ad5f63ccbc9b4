"""Inter-coder agreement: pure statistics, no database and no UI.

`reliability` / `reliability_result` compute percent agreement, Cohen's kappa, Scott's
pi, Fleiss' kappa, Krippendorff's alpha, Gwet's AC1 and Brennan-Prediger over coders'
labels per unit; `unitizing_alpha` / `unitizing_alpha_result` compute Krippendorff's
alpha_u over character spans.  See docs/agreement.md.
"""

from .coefficients import (
    COEFFICIENTS,
    LEVELS,
    AgreementInputError,
    ReliabilityResult,
    reliability,
    reliability_result,
)
from .unitizing import UnitizingResult, unitizing_alpha, unitizing_alpha_result

__all__ = [
    "COEFFICIENTS",
    "LEVELS",
    "AgreementInputError",
    "ReliabilityResult",
    "UnitizingResult",
    "reliability",
    "reliability_result",
    "unitizing_alpha",
    "unitizing_alpha_result",
]
