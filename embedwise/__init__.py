"""embedwise: choose the right embedding model for your application."""
__version__ = "0.1.0"
