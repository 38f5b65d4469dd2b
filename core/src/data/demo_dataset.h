// The built-in demo dataset's generator: random scenes (demo_scene.h), drawn with anti-aliasing
// and described in several phrasings, written in the COCO captions layout
// (annotations/captions_demo.json + images/*.png) by t2i::data::make_demo_dataset (t2i/data.h).
#pragma once

#include "data/demo_scene.h"
#include "t2i/image.h"
#include "data/stable_random.h"

#include <string>
#include <vector>

namespace t2i::data::demo {

/// A random scene: one object at a place or two objects of different colours in a relation,
/// placed so that the place or relation is unambiguous and nothing touches the border.
Scene random_scene(StableRng& rng);

/// Draws a scene at size×size: coverage of each shape from its signed distance at pixel centres
/// (a one-pixel anti-aliasing ramp), blended over the grey background.
Image draw_scene(const Scene& scene, int size);

/// `count` captions of a scene in different phrasings (with and without sizes, either object
/// first, synonyms), e.g. "a small red circle above a large blue square".
std::vector<std::string> describe_scene(const Scene& scene, int count, StableRng& rng);

} // namespace t2i::data::demo
