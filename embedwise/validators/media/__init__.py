"""`validate` on images and audio: the data (`data`), how files are read (`decode`), the CLIP and CLAP encoders
(`encoders`), and the measurements `validators.measure.run_model` calls for them (`measure`, `robustness`).

Nothing here imports torch, transformers, sentence-transformers or Pillow at import time.
"""
