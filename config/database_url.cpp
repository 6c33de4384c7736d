#include "config/database_url.hpp"

#include <regex>
#include <vector>

namespace govjobd::config {

std::string redact_database_url(const std::string& url) {
  static const std::regex uri_password(R"(^([a-z]+://[^:/@]*):[^@]*@)", std::regex::icase);
  static const std::regex keyword_password(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S+))", std::regex::icase);
  std::string out = std::regex_replace(url, uri_password, "$1:***@");
  return std::regex_replace(out, keyword_password, "$1***");
}

std::string redact_connection_error(const std::string& message, const std::string& url) {
  static const std::regex uri_password(R"(^[a-z]+://[^:/@]*:([^@]*)@)", std::regex::icase);
  static const std::regex keyword_password(R"(password\s*=\s*(?:'((?:[^'\\]|\\.)*)'?|([^\s&]+)))", std::regex::icase);
  std::vector<std::string> secrets;
  std::smatch m;
  if (std::regex_search(url, m, uri_password)) secrets.push_back(m[1]);
  for (std::sregex_iterator it(url.begin(), url.end(), keyword_password), end; it != end; ++it)
    secrets.push_back((*it)[1].matched ? (*it)[1].str() : (*it)[2].str());
  std::string out = message;
  for (const auto& secret : secrets)
    for (auto at = secret.empty() ? std::string::npos : out.find(secret); at != std::string::npos; at = out.find(secret, at + 3))
      out.replace(at, secret.size(), "***");
  return redact_database_url(out);
}

}  // namespace govjobd::config
