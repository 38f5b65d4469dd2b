# The core's sources (relative to core/src) that reach no LibTorch header. They skip the
# precompiled torch header, whose loading alone costs GCC about 7 s of CPU per file, more than
# most of these files take to compile (io/format_version.cpp: 8.6 s without it, 33 s with it,
# two compilers sharing 2 cores). A file listed here that starts to use torch fails to compile:
# take it off the list. Read by the core's areas and by the fuzz build, which compiles some of
# them again.
set(T2I_SOURCES_WITHOUT_TORCH
  bench/data.cpp
  data/cache_folder.cpp
  data/caption_formats.cpp
  data/caption_parsing.cpp
  data/coco_json_captions.cpp
  data/csv_captions.cpp
  data/dataset_prepare.cpp
  data/dataset_report.cpp
  data/demo_dataset.cpp
  data/demo_scene.cpp
  data/exif_orientation.cpp
  data/image_decode.cpp
  data/image_transform.cpp
  data/jsonl_captions.cpp
  data/parallel_for.cpp
  data/png_write.cpp
  data/prepared_dataset.cpp
  data/split_manifest.cpp
  diffusion/kinds.cpp
  io/format_version.cpp
  io/hash.cpp
  io/png.cpp
  io/text_file.cpp
  model/preset.cpp
  runtime/job.cpp
  runtime/log.cpp
  sample/attention_export.cpp
  sample/cascade.cpp
  sample/cascade_file.cpp
  sample/image_metadata.cpp
  train/best_checkpoint.cpp
  train/evaluation_schedule.cpp
  train/label_font.cpp
  train/memorisation.cpp
  train/run_summary.cpp)
