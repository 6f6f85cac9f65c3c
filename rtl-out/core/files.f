tpu_core.v
