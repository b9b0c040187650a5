"""safecity: a city's surveillance points, alarm centre and command centre on one platform."""

__version__ = "0.1.0"
