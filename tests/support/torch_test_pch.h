// Precompiled header shared by the test executables that look inside the core.
#pragma once
#include <torch/torch.h>

#include <QtTest/QtTest>
