// Toolbar buttons that do something once (refresh, copy, open), for every panel of the extension.

import { ToolbarButton, ToolbarButtonComponent } from '@jupyterlab/ui-components';

/**
 * A toolbar button that runs its `onClick` and stays unpressed: Lab's `ToolbarButton` toggles
 * its pressed look on each click, which suits a switch, not an action.
 */
export function actionButton(props: ToolbarButtonComponent.IProps): ToolbarButton {
  const button: ToolbarButton = new ToolbarButton({
    ...props,
    onClick: () => {
      button.pressed = false;
      props.onClick?.();
    }
  });
  return button;
}
