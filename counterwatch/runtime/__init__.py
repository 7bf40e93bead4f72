"""The runtime of `counterwatch run`: the per-camera pipeline of a worker (worker.CameraPipeline), the worker processes
and the parent's pump (runner), and the typed messages between them (messages). Perception itself is built by
counterwatch.perception."""
