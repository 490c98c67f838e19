// Embeds Apollo Sandbox from Apollo's CDN on the landing page (gateway/src/landingPage.ts), or says it cannot be
// reached and points to the local explorer.
'use strict';

const config = JSON.parse(document.getElementById('landing-config').textContent);
const script = document.createElement('script');
script.src = config.script;
script.addEventListener('load', () => {
  new window.EmbeddedSandbox({
    ...config.sandbox,
    target: '#sandbox',
    initialEndpoint: new URL('/graphql', window.location.href).href,
  });
});
script.addEventListener('error', () => {
  document.getElementById('sandbox-unreachable').hidden = false;
});
document.head.append(script);
