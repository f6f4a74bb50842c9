// The dashboard's entry: styles (uPlot's and ours, bundled into app.css), links routed in place,
// the app mounted into index.html's #app.
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { render } from 'preact';
import { App } from './app';
import { routeLinkClicks } from './router';

routeLinkClicks();
render(<App />, document.getElementById('app')!);
