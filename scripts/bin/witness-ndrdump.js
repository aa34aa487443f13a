#!/usr/bin/env node
// witness-ndrdump, from a checkout or an installed package (see entry.js).
'use strict';
require('./entry').load('ndrdump').run();
