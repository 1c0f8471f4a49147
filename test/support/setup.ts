// Loaded by mocha before every test file (.mocharc.json).
// The AWS SDK warns once per process that it will drop Node 20; local runs are on Node 20 on purpose.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
