"""Hardware as data: chip profiles (TOML), quantization to integers, placement on cores with
design-rule checks, and energy from operation counts.  docs/hardware.md describes it all.

Layering: this package reads evsim.model and prepares plain arrays for evsim.engines.fixed;
the engines know nothing of profiles.  evsim.audit (API level) puts the pieces together.
"""

from .profile import Profile, load_profile, shipped_profiles

__all__ = ["Profile", "load_profile", "shipped_profiles"]
