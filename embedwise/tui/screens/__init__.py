"""The screens of the embedwise app."""
