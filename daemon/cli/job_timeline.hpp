#pragma once

// `govjobd jobs show` as text: the job's header, its transitions and its steps, read from the JSON that
// `jobs show --json` prints (Store::job_get). Every value in it may have been written by the job writer: any
// type, any size, any characters; a value of the wrong type prints as JSON, never throws.

#include <string>

#include <nlohmann/json.hpp>

namespace govjobd::cli {

std::string job_timeline(const nlohmann::json& job);

}  // namespace govjobd::cli
