"""The training side of the learning loop: features of reviewed samples, behaviour heads, registry and promotion.

Modules: features (dataset reading + cached per-sample features), heads (grouped CV, calibration, thresholds,
training), registry (versions, active pointer, promotion, rollback, HeadPredictor), loso (public-data proof).
"""
