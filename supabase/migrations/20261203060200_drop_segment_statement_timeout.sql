-- Dead code: nothing calls private.segment_statement_timeout(); the evaluation functions carry
-- their statement_timeout as a function setting (private.segment_settings applies it).
drop function private.segment_statement_timeout();
