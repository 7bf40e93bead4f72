"""Training datasets for the learning loop: export from reviewed incidents, import of external labelled sets, and
the negative-frame sampler the runner can call. The format is in counterwatch.dataset.format."""
from counterwatch.dataset.format import Annotation, DatasetWriter, DetectedObject, Sample, read_manifest
from counterwatch.dataset.sampler import CandidateFrame, sample_negative_frames, store_sample, stored_samples

__all__ = ["Annotation", "CandidateFrame", "DatasetWriter", "DetectedObject", "Sample", "read_manifest",
           "sample_negative_frames", "store_sample", "stored_samples"]
